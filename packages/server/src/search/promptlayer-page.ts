import type { Static } from '@sinclair/typebox';
import { readPromptLayerSearch, type PromptLayerSearchBody } from '../domain/promptlayer-search.js';
import type { PromptLayerSearchReply } from '../schemas/search.js';
import type { Store } from '../store/store.js';
import { promptLayerItem } from './request-items.js';

/** A PromptLayer search body with its page (from 1) and page size, as its clients send them. */
export interface PromptLayerPageQuery extends PromptLayerSearchBody {
  page?: number;
  per_page?: number;
}

/**
 * One page of PromptLayer's request search, in its wire shape: page numbers and a total, as its
 * clients expect (10 items a page unless asked otherwise).
 */
export async function promptLayerPage(store: Store, workspaceId: number, query: PromptLayerPageQuery): Promise<Static<typeof PromptLayerSearchReply>> {
  const { filter, sort } = readPromptLayerSearch(query);
  const page = query.page ?? 1;
  const perPage = query.per_page ?? 10;
  const [total, found] = await Promise.all([
    store.requests.count(workspaceId, filter),
    store.requests.search(workspaceId, { filter, sort, offset: (page - 1) * perPage, limit: perPage }),
  ]);
  const pages = Math.ceil(total / perPage);
  const hasNext = page < pages;
  const hasPrev = page > 1;
  return {
    success: true as const,
    items: found.items.map(promptLayerItem),
    page,
    pages,
    per_page: perPage,
    total,
    has_next: hasNext,
    has_prev: hasPrev,
    next_num: hasNext ? page + 1 : null,
    prev_num: hasPrev ? page - 1 : null,
  };
}
