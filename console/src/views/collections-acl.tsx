/**
 * The ACL editor: `gr`/`gw`, the user lists `r`/`w` and the group lists `groups.r`/`groups.w`.
 * `AclDialog` edits any record's `_acl` and hands the new one to its `save`; `AclEditor` saves an
 * entity as a PUT of the whole entity with the new `_acl` (Files saves a file's metadata the same
 * way). The server keeps `creator` (it is never taken from a body) and validates every list.
 */
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Modal, toast } from '../components/common';
import type { Entity } from '../collections/cells';

interface AclDraft {
  gr: boolean;
  gw: boolean;
  r: string[];
  w: string[];
  groupsR: string[];
  groupsW: string[];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function draftOf(acl: Record<string, unknown>): AclDraft {
  const groups = (typeof acl.groups === 'object' && acl.groups !== null ? acl.groups : {}) as Record<string, unknown>;
  return {
    gr: acl.gr === true,
    gw: acl.gw === true,
    r: strings(acl.r),
    w: strings(acl.w),
    groupsR: strings(groups.r),
    groupsW: strings(groups.w),
  };
}

/** The `_acl` to send: the old one's other fields kept, empty lists left out. */
export function aclOf(previous: Record<string, unknown>, draft: AclDraft): Record<string, unknown> {
  const { creator: _creator, gr: _gr, gw: _gw, r: _r, w: _w, groups: _groups, ...others } = previous;
  const acl: Record<string, unknown> = { ...others, gr: draft.gr, gw: draft.gw };
  if (draft.r.length) acl.r = draft.r;
  if (draft.w.length) acl.w = draft.w;
  const groups: Record<string, string[]> = {};
  if (draft.groupsR.length) groups.r = draft.groupsR;
  if (draft.groupsW.length) groups.w = draft.groupsW;
  if (Object.keys(groups).length) acl.groups = groups;
  return acl;
}

export function AclEditor({
  api,
  collection,
  entity,
  onClose,
  onSaved,
}: {
  api: Api;
  collection: string;
  entity: Entity;
  onClose: () => void;
  onSaved: () => void;
}) {
  const id = String(entity._id);
  return (
    <AclDialog
      subject={id}
      acl={entity._acl}
      onClose={onClose}
      onSaved={onSaved}
      save={(acl) => api.put(api.appdata(collection, id), { ...entity, _acl: acl })}
    />
  );
}

/**
 * Edits `acl` (the record's `_acl`, as read) in a dialog; Save calls `save` with the `_acl` to
 * store, then `onSaved` with what `save` resolved to. A rejection is shown inline, as the API gave it.
 */
export function AclDialog<T>({
  subject,
  acl,
  save,
  onClose,
  onSaved,
}: {
  subject: string;
  acl: unknown;
  save: (acl: Record<string, unknown>) => Promise<T>;
  onClose: () => void;
  onSaved: (saved: T) => void;
}) {
  const previous = (typeof acl === 'object' && acl !== null ? acl : {}) as Record<string, unknown>;
  const [draft, setDraft] = useState<AclDraft>(() => draftOf(previous));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<AclDraft>) => setDraft((d) => ({ ...d, ...patch }));

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      const saved = await save(aclOf(previous, draft));
      toast(`ACL of ${subject} saved`);
      onSaved(saved);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <Modal title={`ACL of ${subject}`} onClose={onClose}>
      <div class="acl-editor" data-testid="acl-editor">
        <dl>
          <dt>Creator</dt>
          <dd>
            <code data-testid="acl-creator">{typeof previous.creator === 'string' ? previous.creator : '—'}</code>{' '}
            <span class="muted">(set by the server)</span>
          </dd>
        </dl>
        <fieldset class="acl-flags">
          <legend>Everyone</legend>
          <label class="check">
            <input type="checkbox" checked={draft.gr} onChange={(e) => set({ gr: e.currentTarget.checked })} /> Globally
            readable (gr)
          </label>
          <label class="check">
            <input type="checkbox" checked={draft.gw} onChange={(e) => set({ gw: e.currentTarget.checked })} /> Globally
            writable (gw)
          </label>
        </fieldset>
        <ChipList label="Readers (r): user ids" values={draft.r} onChange={(r) => set({ r })} />
        <ChipList label="Writers (w): user ids" values={draft.w} onChange={(w) => set({ w })} />
        <ChipList
          label="Reader groups (groups.r): group ids"
          values={draft.groupsR}
          onChange={(groupsR) => set({ groupsR })}
        />
        <ChipList
          label="Writer groups (groups.w): group ids"
          values={draft.groupsW}
          onChange={(groupsW) => set({ groupsW })}
        />
        <ErrorBox error={error} />
        <div class="row">
          <span class="spacer" />
          <button onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button class="primary" onClick={() => void submit()} disabled={busy}>
            Save ACL
          </button>
        </div>
      </div>
    </Modal>
  );
}

/** A list of ids as removable chips, with an input that adds one or several (comma-separated). */
function ChipList({
  label,
  values,
  onChange,
}: {
  label: string;
  values: string[];
  onChange: (values: string[]) => void;
}) {
  const [text, setText] = useState('');
  const add = () => {
    const fresh = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !values.includes(s));
    if (fresh.length) onChange([...values, ...new Set(fresh)]);
    setText('');
  };
  return (
    <div class="chip-list">
      <span class="chip-label">{label}</span>
      <div class="chips">
        {values.map((value) => (
          <span class="chip" key={value}>
            <code>{value}</code>
            <button
              class="icon"
              aria-label={`Remove ${value}`}
              onClick={() => onChange(values.filter((v) => v !== value))}
            >
              ×
            </button>
          </span>
        ))}
        <input
          aria-label={label}
          placeholder="Add id(s), comma-separated"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ',') {
              e.preventDefault();
              add();
            }
          }}
          onBlur={add}
        />
      </div>
    </div>
  );
}
