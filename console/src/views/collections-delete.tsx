/**
 * "Delete collection…": Kinvey's `POST /rpc/:appKey/remove-collection` with
 * `{"collectionName"}` (master), which deletes every entity of the collection and answers
 * `{count}`. The collection's configuration (permissions) stays. Typing the name arms the button.
 */
import { useState } from 'preact/hooks';
import { seg, type Api } from '../api';
import { ErrorBox, Modal, toast } from '../components/common';

export function DeleteCollection({
  api,
  collection,
  total,
  onClose,
  onDeleted,
}: {
  api: Api;
  collection: string;
  /** The entity count shown in the table, when known. */
  total: number | null;
  onClose: () => void;
  onDeleted: () => void;
}) {
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const armed = typed === collection;

  const remove = async () => {
    if (!armed) return;
    setBusy(true);
    setError(null);
    try {
      const { count } = await api.post<{ count: number }>(`/rpc/${seg(api.appKey)}/remove-collection`, {
        collectionName: collection,
      });
      toast(`Deleted ${count.toLocaleString()} ${count === 1 ? 'entity' : 'entities'}`);
      onDeleted();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <Modal title={`Delete collection ${collection}?`} onClose={onClose}>
      <form
        class="delete-collection"
        data-testid="delete-collection"
        onSubmit={(e) => {
          e.preventDefault();
          void remove();
        }}
      >
        <p>
          This deletes{' '}
          {total === null ? (
            'every entity'
          ) : (
            <strong>{total === 1 ? '1 entity' : `all ${total.toLocaleString()} entities`}</strong>
          )}{' '}
          of <code>{collection}</code> for good. Its settings (permissions, hooks) stay.
        </p>
        <label>
          <span>
            Type <code>{collection}</code> to confirm
          </span>
          <input
            aria-label="Collection name to confirm"
            autoComplete="off"
            spellcheck={false}
            value={typed}
            onInput={(e) => setTyped(e.currentTarget.value)}
          />
        </label>
        <ErrorBox error={error} />
        <div class="row">
          <span class="spacer" />
          <button type="button" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" class="danger" disabled={!armed || busy}>
            Delete collection
          </button>
        </div>
      </form>
    </Modal>
  );
}
