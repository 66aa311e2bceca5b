/**
 * Placeholders and variants of image files. When an image upload completes, its bytes are
 * analysed once (size and ThumbHash, kept on the record for that generation). Variants are made
 * lazily, once: the first request of one renders it (one job per file, generation and preset at
 * a time), stores it next to the original under the generation (image-record.ts), and records it;
 * later reads only sign its URL. Every decode runs behind one small global gate, off the event
 * loop (the engine runs in libuv's threads), with the engine's timeout. Bytes kinbase will not
 * decode (bombs, truncated files, a format other than the declared one, over the byte cap) give
 * the file no placeholder and no variants and a warning in the log, never an error to a reader.
 */
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import type { AppDefinition } from '../../apps/app-definition';
import type { DocumentStore, ObjectStore, StoredDocument } from '../../ports';
import { issueDownloadLinkUntil, issueVariantLink, type LinkOptions } from '../download-urls';
import { errors } from '../../errors';
import { FILES_COLLECTION, GENERATION_FIELD, generationOf, servedKeyOf, uploadStateOf } from '../file-metadata';
import { GateFull, WorkGate } from '../../../internal/work-gate';
import {
  ImageRejected,
  MAX_IMAGE_INPUT_BYTES,
  mayBeDecodableImage,
  sniffImageFormat,
  type ImageEngine,
} from './image-engine';
import { presetsOf, variantMimeType, variantSize, presetDigest } from './image-presets';
import {
  IMAGE_FIELD,
  imageInfoOf,
  placeholderOf,
  variantFailed,
  variantKeyFor,
  variantPrefixFor,
  variantStored,
  type StoredImageInfo,
} from './image-record';
import { pendingVariantUrl, verifyPendingVariant } from './variant-links';

/** Images decoded at once, process-wide: half the cores (at least one), so reads keep a core. */
export const IMAGE_CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));
/** Jobs waiting for the gate at most; beyond, analyses are retried on a later read. */
const MAX_QUEUED_JOBS = 1000;

export interface ImageVariantsOptions {
  /** kinbase's public URL (pending variant links point at it). */
  publicUrl: string;
  /** Where what could not be decoded or rendered is reported (the app logs it at `warn`). */
  warn: (context: Record<string, unknown>, message: string) => void;
  /** Images decoded at once (IMAGE_CONCURRENCY by default). */
  concurrency?: number;
}

export class ImageVariants {
  private readonly gate: WorkGate;
  /** Jobs in flight by file, generation (and preset): concurrent requests share one. */
  private readonly analysing = new Map<string, Promise<StoredImageInfo | null>>();
  private readonly rendering = new Map<string, Promise<string | null>>();

  constructor(
    private readonly store: DocumentStore,
    private readonly objects: ObjectStore,
    private readonly engine: ImageEngine,
    private readonly options: ImageVariantsOptions,
  ) {
    this.gate = new WorkGate(options.concurrency ?? IMAGE_CONCURRENCY, MAX_QUEUED_JOBS);
  }

  /**
   * Starts (or joins) the analysis of a complete upload whose image info is missing, and waits for
   * it at most `waitMs`: returns the record with its image info if it is known by then, else the
   * record as is (the analysis goes on and records what it finds). Never throws.
   */
  async analyse(appKey: string, doc: StoredDocument, waitMs: number): Promise<StoredDocument> {
    const job = this.startAnalysis(appKey, doc);
    if (!job) return doc;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), waitMs);
      timer.unref();
    });
    const info = await Promise.race([job, late]).finally(() => clearTimeout(timer));
    return info ? { ...doc, [IMAGE_FIELD]: info } : doc;
  }

  /**
   * Adds `_placeholder` (decoded images), `_variants` (the presets `options.variants` names) and,
   * for `options.variant`, that variant's link in place of `_downloadURL`, to a presented record.
   * Records of images not analysed yet get their analysis started. No access check.
   */
  async decorate(
    app: AppDefinition,
    doc: StoredDocument,
    presented: StoredDocument,
    options: LinkOptions,
  ): Promise<StoredDocument> {
    const info = imageInfoOf(doc);
    if (!info) {
      void this.startAnalysis(app.appKey, doc);
      return presented;
    }
    const placeholder = placeholderOf(doc);
    if (!placeholder) return presented;
    const out: StoredDocument = { ...presented, _placeholder: placeholder };
    const presets = presetsOf(app);
    if (options.variant !== undefined && presets.has(options.variant) && !variantFailed(info, options.variant)) {
      const link = await this.link(app, doc, info, options.variant, options);
      out._downloadURL = link.url;
      if (link.expiresAt) out._expiresAt = link.expiresAt.toISOString();
    }
    const names = (options.variants ?? []).filter((name) => !variantFailed(info, name));
    if (names.length > 0) {
      const variants: Record<string, unknown> = {};
      for (const name of names) {
        const preset = presets.get(name);
        if (!preset) continue;
        const link = await this.link(app, doc, info, name, options);
        variants[name] = {
          _downloadURL: link.url,
          ...variantSize(preset, placeholder.width, placeholder.height),
          mimeType: variantMimeType(preset),
        };
      }
      out._variants = variants;
    }
    return out;
  }

  /**
   * The object key of a variant of the record's current generation, rendering and storing it
   * first if needed (or joining the render in flight). Null when the file has no such variant (not
   * an image kinbase decodes, or rendering failed: logged, recorded, not tried again). Throws
   * GateFull when too many images wait to be decoded.
   */
  async variant(app: AppDefinition, doc: StoredDocument, name: string): Promise<string | null> {
    const generation = generationOf(doc);
    const preset = presetsOf(app).get(name);
    let info = imageInfoOf(doc);
    if (!generation || !preset) return null;
    if (!info) info = (await this.startAnalysis(app.appKey, doc)) ?? undefined;
    if (info?.status !== 'ok' || variantFailed(info, name)) return null;
    const key = variantKeyFor(app.appKey, doc._id, generation, name, preset);
    if (variantStored(info, name, preset)) return key;
    const flight = `${app.appKey}\u0000${doc._id}\u0000${generation}\u0000${name}\u0000${presetDigest(preset)}`;
    let job = this.rendering.get(flight);
    if (!job) {
      job = this.gate
        .run(async () => {
          const source = await this.readSource(app.appKey, doc);
          const size = variantSize(preset, info.width ?? 1, info.height ?? 1);
          const bytes = await this.engine.render(source.bytes, source.format, preset, size);
          await this.objects.write(key, Readable.from([bytes]), {
            contentType: variantMimeType(preset),
            public: doc._public === true,
          });
          await this.record(app.appKey, doc._id, generation, {
            [`${IMAGE_FIELD}.variants.${name}`]: presetDigest(preset),
          });
          return key;
        })
        .catch(async (err: unknown) => {
          if (err instanceof GateFull) throw err;
          this.options.warn(
            { appKey: app.appKey, fileId: doc._id, variant: name, reason: reasonOf(err) },
            'an image variant cannot be made; the file gets no variant of this preset',
          );
          if (err instanceof ImageRejected)
            await this.record(app.appKey, doc._id, generation, { [`${IMAGE_FIELD}.variants.${name}`]: 'failed' }).catch(
              () => undefined,
            );
          return null;
        })
        .finally(() => this.rendering.delete(flight));
      this.rendering.set(flight, job);
    }
    return job;
  }

  /**
   * Follows a pending variant link (variant-links.ts): renders the variant if it is not stored yet
   * and returns the object store's URL of it, expiring with the link. The link is the credential
   * (no principal). Throws 401 for a forged or expired link or a `public` link of a file that is
   * private now, 404 BlobNotFound when the file, its generation or the variant is gone or cannot
   * be made, 503 when too many images wait to be decoded.
   */
  async followLink(
    app: AppDefinition,
    request: { fileId: string; name: string; query: Record<string, unknown>; https: boolean; now: Date },
    find: (fileId: string) => Promise<StoredDocument | undefined>,
  ): Promise<string> {
    const link = verifyPendingVariant(app, request.fileId, request.name, request.query, request.now);
    const doc = await find(request.fileId);
    if (!doc || generationOf(doc) !== link.generation)
      throw errors.blobNotFound('This image variant is of a file or an upload that no longer exists.');
    if (!link.expiresAt && doc._public !== true)
      throw errors.insufficientCredentials('This image variant link is not valid or has expired.');
    let key: string | null;
    try {
      key = await this.variant(app, doc, request.name);
    } catch (err) {
      if (err instanceof GateFull) throw errors.storageUnavailable('Too many images are being processed; retry.');
      throw err;
    }
    if (!key) throw errors.blobNotFound('No image variant of this file can be made.');
    return issueDownloadLinkUntil(this.objects, key, doc._public === true, {
      expiresAt: link.expiresAt,
      https: request.https,
    });
  }

  /** Makes the stored variants of the record's generation public or private, as its original. */
  async setPublic(appKey: string, doc: StoredDocument, isPublic: boolean, app: AppDefinition): Promise<void> {
    const info = imageInfoOf(doc);
    const generation = generationOf(doc);
    if (!info || !generation) return;
    for (const [name, preset] of presetsOf(app))
      if (variantStored(info, name, preset))
        await this.objects.setPublic(variantKeyFor(appKey, doc._id, generation, name, preset), isPublic);
  }

  /** Deletes every variant of one generation (its bytes are no longer served). */
  deleteVariants(appKey: string, fileId: string, generation: string): Promise<void> {
    return this.objects.deletePrefix(variantPrefixFor(appKey, fileId, generation));
  }

  private link(app: AppDefinition, doc: StoredDocument, info: StoredImageInfo, name: string, options: LinkOptions) {
    const preset = presetsOf(app).get(name);
    const generation = generationOf(doc) as string;
    const stored = preset && variantStored(info, name, preset);
    return issueVariantLink(
      this.objects,
      {
        ...(stored ? { storedKey: variantKeyFor(app.appKey, doc._id, generation, name, preset) } : {}),
        pendingUrl: (expiresAt) =>
          pendingVariantUrl(this.options.publicUrl, options.https, app, {
            fileId: doc._id,
            generation,
            name,
            ...(expiresAt ? { expiresAt } : {}),
          }),
      },
      doc._public === true,
      options,
    );
  }

  /** The analysis of the record's complete generation (joined if in flight), or null if none is due. */
  private startAnalysis(appKey: string, doc: StoredDocument): Promise<StoredImageInfo | null> | null {
    const generation = generationOf(doc);
    // The served generation's bytes exist when its upload completed, or while a re-upload is
    // pending over them (`previous`).
    const state = uploadStateOf(doc);
    const served = state?.status === 'complete' || (state?.status === 'pending' && !!state.previous);
    if (!generation || !served || !mayBeDecodableImage(doc.mimeType)) return null;
    const flight = `${appKey}\u0000${doc._id}\u0000${generation}`;
    const running = this.analysing.get(flight);
    if (running) return running;
    if (this.gate.full) return null;
    const job = this.gate
      .run(async (): Promise<StoredImageInfo> => {
        try {
          const source = await this.readSource(appKey, doc);
          const found = await this.engine.analyse(source.bytes, source.format);
          return { generation, status: 'ok', ...found };
        } catch (err) {
          if (!(err instanceof ImageRejected)) throw err;
          this.options.warn(
            { appKey, fileId: doc._id, reason: err.reason },
            'an image file cannot be decoded; it gets no placeholder and no variants',
          );
          return { generation, status: 'none' };
        }
      })
      .then(async (info) => {
        await this.record(appKey, doc._id, generation, { [IMAGE_FIELD]: info });
        return info;
      })
      .catch((err: unknown) => {
        // A store failure or a full gate: nothing is recorded, a later read tries again.
        if (!(err instanceof GateFull))
          this.options.warn({ appKey, fileId: doc._id, err }, 'analysing an image failed; a later read retries');
        return null;
      })
      .finally(() => this.analysing.delete(flight));
    this.analysing.set(flight, job);
    return job;
  }

  /** The original's bytes (at most MAX_IMAGE_INPUT_BYTES) and their format. Throws ImageRejected. */
  private async readSource(appKey: string, doc: StoredDocument) {
    if (typeof doc.size === 'number' && doc.size > MAX_IMAGE_INPUT_BYTES)
      throw new ImageRejected(`the file is over ${MAX_IMAGE_INPUT_BYTES} bytes`);
    const stream = await this.objects.read(servedKeyOf(appKey, doc));
    if (!stream) throw new ImageRejected('the file has no bytes');
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of stream) {
      total += (chunk as Buffer).length;
      if (total > MAX_IMAGE_INPUT_BYTES) {
        stream.destroy();
        throw new ImageRejected(`the file is over ${MAX_IMAGE_INPUT_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks, total);
    const format = sniffImageFormat(bytes, doc.mimeType);
    if (!format)
      throw new ImageRejected(`the bytes are not a decodable image of type ${String(doc.mimeType).slice(0, 60)}`);
    return { bytes, format };
  }

  /** Records image facts, only while the record still serves that generation. */
  private async record(appKey: string, fileId: string, generation: string, fields: Record<string, unknown>) {
    const sameGeneration: Record<string, unknown> = { [GENERATION_FIELD]: generation };
    if (!(IMAGE_FIELD in fields)) sameGeneration[`${IMAGE_FIELD}.generation`] = generation;
    await this.store.setFields({ appKey, collection: FILES_COLLECTION }, fileId, fields, sameGeneration);
  }
}

function reasonOf(err: unknown): string {
  return err instanceof ImageRejected ? err.reason : err instanceof Error ? err.message.slice(0, 200) : String(err);
}
