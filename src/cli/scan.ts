/**
 * Every document of a collection, in `_id` order, a page at a time (DocumentStore.scan): memory
 * is one page whatever the collection's size.
 */
import type { CollectionScope, DocumentStore, StoredDocument } from '../domain/ports';

const PAGE = 500;

export async function* scanCollection(
  documents: DocumentStore,
  scope: CollectionScope,
): AsyncGenerator<StoredDocument[]> {
  for (let after: string | null = null; ;) {
    const page = await documents.scan(scope, after, PAGE);
    if (page.length === 0) return;
    yield page;
    after = (page[page.length - 1] as StoredDocument)._id;
  }
}
