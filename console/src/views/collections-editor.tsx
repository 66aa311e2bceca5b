/**
 * The JSON editor for one entity: create (POST), replace (PUT of the whole entity) and delete
 * (after a confirm step). kinbase owns `_kmd` and `_acl.creator` and keeps only `_type` and
 * `_id` of a KinveyFile reference, so what is saved may differ from what was typed.
 */
import { useState } from 'preact/hooks';
import type { Api } from '../api';
import { ErrorBox, Modal, toast } from '../components/common';
import { formatJson, JsonTextarea, parseJsonObject } from '../components/json-editor';
import type { Entity } from '../collections/cells';

const NEW_ENTITY = '{\n  \n}';

export function EntityEditor({
  api,
  collection,
  entity,
  onClose,
  onSaved,
}: {
  api: Api;
  collection: string;
  entity?: Entity;
  onClose: () => void;
  onSaved: () => void;
}) {
  const id = entity?._id;
  const [text, setText] = useState(() => (entity ? JSON.stringify(entity, null, 2) : NEW_ENTITY));
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  const run = async (work: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      toast(done);
      onSaved();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  const save = () => {
    const parsed = parseJsonObject(text, 'An entity');
    setProblem(parsed.problem ?? null);
    if (parsed.problem !== undefined) return;
    const body = parsed.value;
    if (id === undefined) {
      void run(() => api.post(api.appdata(collection), body), `Entity created in ${collection}`);
    } else {
      void run(() => api.put(api.appdata(collection, id), body), `Entity ${id} saved`);
    }
  };

  const remove = () => {
    if (id === undefined) return;
    void run(() => api.del(api.appdata(collection, id)), `Entity ${id} deleted`);
  };

  const format = () => {
    const formatted = formatJson(text);
    if (formatted.text !== undefined) setText(formatted.text);
    setProblem(formatted.problem ?? null);
  };

  return (
    <Modal title={id === undefined ? `New entity in ${collection}` : `Entity ${id}`} onClose={onClose} wide>
      <div data-testid="entity-editor" class="entity-editor">
        <JsonTextarea label="Entity JSON" testId="entity-json" value={text} onChange={setText} onSave={save} />
        <p class="muted hint">
          {id === undefined ? 'Leave out _id to let kinbase pick one. ' : ''}
          _kmd is set by the server; a KinveyFile reference needs only {'{"_type":"KinveyFile","_id":"…"}'}. Ctrl+S
          saves.
        </p>
        {problem && (
          <div class="error" role="alert" data-testid="editor-problem">
            {problem}
          </div>
        )}
        <ErrorBox error={error} />
        <div class="row">
          {id !== undefined && !confirming && (
            <button class="danger" onClick={() => setConfirming(true)} disabled={busy}>
              Delete…
            </button>
          )}
          {confirming && (
            <span class="confirm row" role="group" aria-label="Confirm delete">
              <span>Delete {id} for good?</span>
              <button class="danger" onClick={remove} disabled={busy} data-testid="confirm-delete">
                Yes, delete
              </button>
              <button onClick={() => setConfirming(false)} disabled={busy}>
                Keep it
              </button>
            </span>
          )}
          <span class="spacer" />
          <button onClick={format} disabled={busy}>
            Format
          </button>
          <button onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button class="primary" onClick={save} disabled={busy}>
            {id === undefined ? 'Create' : 'Save'}
          </button>
        </div>
      </div>
    </Modal>
  );
}
