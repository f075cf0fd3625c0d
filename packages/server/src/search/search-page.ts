import type { Static } from '@sinclair/typebox';
import { decodeCursor, encodeCursor, type RequestFilter, type SortSpec } from '../domain/search-query.js';
import type { SearchReply } from '../schemas/search.js';
import type { Store } from '../store/store.js';
import { summaryItem } from './request-items.js';

/** What one page of a search asks for: `cursor` is the previous page's next_cursor (none: the first page). */
export interface SearchPageQuery {
  filter: RequestFilter | null;
  sort: SortSpec;
  cursor: string | null | undefined;
  limit: number;
}

/**
 * One page of a native search, in its wire shape: the routes (POST and GET /v1/requests/search)
 * and `tally requests search` on a store share it, so both answer alike. A cursor that does not
 * fit `sort` is refused with a 400 naming `cursor`.
 */
export async function searchPage(store: Store, workspaceId: number, { filter, sort, cursor, limit }: SearchPageQuery): Promise<Static<typeof SearchReply>> {
  const after = cursor ? decodeCursor(cursor, sort) : null;
  const page = await store.requests.search(workspaceId, { filter, sort, after, limit });
  return {
    success: true as const,
    items: page.items.map(summaryItem),
    next_cursor: page.next ? encodeCursor(sort, page.next) : null,
    has_more: page.next !== null,
  };
}
