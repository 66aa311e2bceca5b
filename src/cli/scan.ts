/**
 * Every document of a collection, in `_id` order, a page at a time: memory is one page whatever
 * the collection's size. A page over the store's answer budget is halved until it fits.
 */
import { StoreError, type CollectionScope, type DocumentStore, type StoredDocument } from '../domain/ports';

const PAGE = 500;

export async function* scanCollection(
  documents: DocumentStore,
  scope: CollectionScope,
): AsyncGenerator<StoredDocument[]> {
  let after: string | null = null;
  let limit = PAGE;
  for (;;) {
    let page: StoredDocument[];
    try {
      page = await documents.find(scope, after === null ? {} : { _id: { $gt: after } }, {
        sort: [['_id', 1]],
        limit,
      });
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'too-large' && limit > 1) {
        limit = Math.max(1, Math.floor(limit / 2));
        continue;
      }
      throw err;
    }
    if (page.length === 0) return;
    yield page;
    after = (page[page.length - 1] as StoredDocument)._id;
    if (page.length < limit) return;
  }
}
