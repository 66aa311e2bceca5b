/**
 * Resolves the KinveyFile references of one response: all references of all documents are
 * collected, de-duplicated and looked up in ONE metadata query, checked against the reader's
 * access, given download links, and expanded in place. Resolution never fails the read: missing
 * files, files the reader may not read and files whose link cannot be issued stay bare `{_type, _id}`.
 */
import type { AppDefinition } from '../apps/app-definition';
import type { StoredDocument } from '../ports';
import type { LinkOptions } from './download-urls';
import type { FilesService, Warn } from './files.service';
import { collectReferenceSites, KINVEY_FILE } from './kinvey-file-refs';
import type { Principal } from '../access/principal';

/** What an unreadable public file reveals: it is world-downloadable already, its ACL and custom metadata are not. */
const PUBLIC_FIELDS = [
  '_id',
  '_filename',
  'mimeType',
  'size',
  '_public',
  '_downloadURL',
  '_placeholder',
  '_variants',
] as const;

export class FileReferenceResolver {
  constructor(
    private readonly files: FilesService,
    /** Told about each file whose link could not be issued (its reference then stays bare). */
    private readonly warn: Warn = () => {},
    /** Told, once per resolved response, how many reference sites were expanded and how many stayed bare. */
    private readonly counted: (expanded: number, bare: number) => void = () => {},
  ) {}

  /**
   * Expands every reference in `docs` in place and returns `docs`. Costs nothing when there are
   * no references, and one `_blob` query otherwise, whatever the number of documents or references.
   * `place` turns the (frozen) expansion of one file into what goes at each of its sites; it is
   * called once per file (the HTTP layer uses it to serialize each expansion once).
   */
  async resolve(
    app: AppDefinition,
    principal: Principal,
    docs: StoredDocument[],
    options: LinkOptions,
    place: (expansion: Readonly<Record<string, unknown>>) => unknown = (e) => e,
  ): Promise<StoredDocument[]> {
    const sites = collectReferenceSites(docs);
    if (sites.length === 0) return docs;
    const ids = [...new Set(sites.map((site) => site.id))];
    const records = await this.files.findByIds(app.appKey, ids);

    const expansions = new Map<string, Promise<Readonly<Record<string, unknown>> | null>>();
    for (const record of records) {
      // A link that cannot be issued (the storage's signing service failing, say) leaves that one
      // reference bare; the read goes on.
      expansions.set(
        record._id,
        this.expand(app, principal, record, options).catch((err: unknown) => {
          this.warn(
            { appKey: app.appKey, fileId: record._id, err },
            'issuing a download link for a KinveyFile reference failed; the reference stays bare',
          );
          return null;
        }),
      );
    }
    const placed = new Map<string, unknown>();
    await Promise.all(
      [...expansions].map(async ([id, pending]) => {
        const expansion = await pending;
        if (expansion) placed.set(id, place(expansion));
      }),
    );

    let expanded = 0;
    for (const site of sites) {
      // Sites of the same file share one frozen object: a list of 100 entities showing the same
      // avatar builds it once. Presented documents go straight to serialization.
      if (!placed.has(site.id)) continue;
      (site.holder as Record<string | number, unknown>)[site.slot] = placed.get(site.id);
      expanded += 1;
    }
    this.counted(expanded, sites.length - expanded);
    return docs;
  }

  private async expand(
    app: AppDefinition,
    principal: Principal,
    record: StoredDocument,
    options: LinkOptions,
  ): Promise<Readonly<Record<string, unknown>> | null> {
    const readable = this.files.canRead(app, principal, record);
    if (!readable && record._public !== true) return null;
    const presented = await this.files.presentWithLink(app, record, options);
    if (readable) {
      const { _kmd: _omitKmd, ...fields } = presented;
      return Object.freeze({ _type: KINVEY_FILE, ...fields });
    }
    const visible: Record<string, unknown> = { _type: KINVEY_FILE };
    for (const field of PUBLIC_FIELDS) if (presented[field] !== undefined) visible[field] = presented[field];
    return Object.freeze(visible);
  }
}
