import type { Static } from '@sinclair/typebox';
import { notFound } from '../domain/errors.js';
import type { RequestReply } from '../schemas/search.js';
import type { Store } from '../store/store.js';
import { detailItem } from './request-items.js';

/**
 * One request with everything logged and its current scores, in its wire shape. A request of
 * another workspace is refused exactly like a missing one (404 naming `id`).
 */
export async function requestDetail(store: Store, workspaceId: number, id: number): Promise<Static<typeof RequestReply>> {
  const r = await store.requests.get(workspaceId, id);
  if (!r) throw notFound('id', 'request');
  const ratings = Object.keys(r.scores).length === 0 ? [] : await store.scores.currentRatings(workspaceId, [id]);
  return { success: true as const, request: detailItem(r, ratings) };
}
