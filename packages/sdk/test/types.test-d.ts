/*
 * Type-level tests of the public types, checked by `npm run typecheck` (tsc --noEmit): each
 * `@ts-expect-error` line must fail to compile, every other line must compile. The `Equal` checks
 * tie the SDK's wire types to the server's schemas, so a field added or renamed on one side breaks
 * the typecheck until the other follows.
 */
import type { Static } from '@sinclair/typebox';
import type { LogRequestReply, TrackScoreBody } from '../../server/src/schemas/promptlayer.js';
import type { BatchReply, CorrelationReply, FacetsReply, ScoreChangeReply, ScoreEventItem, StatsReply } from '../../server/src/schemas/scores.js';
import type { RequestDetail as RequestDetailSchema, RequestSummary, ScoreDetailItem, ScoreRatingItem, SearchReply } from '../../server/src/schemas/search.js';
import type {
  AdjudicateReply,
  AgreementReply,
  AgreementResult as AgreementSchema,
  ClaimReply,
  ComparisonResult as ComparisonSchema,
  DisputesReply,
  ItemViewReply,
  QueueAgreementReply,
  QueueItem,
  QueueProgress as QueueProgressSchema,
  RateItemReply,
} from '../../server/src/schemas/review.js';
import type { ScoreSchemaItem, ScoreSchemaReply } from '../../server/src/schemas/score-schemas.js';
import type {
  AdjudicateResult,
  AgreementResult,
  ClaimResult,
  ComparisonResult,
  Dispute,
  ItemRating,
  ItemView,
  QueueAgreement,
  QueueProgress,
  RateItemResult,
  ReviewQueue,
  ScoreDetail,
  ScoreRating,
  ScoreSchema,
  ScoreSchemaRecord,
  ScoresAgreement,
  StatsResult,
  CorrelationResult,
  FacetsResult,
} from '../src/index.js';
import { Tally, TallyError, type BatchResult, type LogRequestResult, type RequestDetail, type RequestItem, type ScoreChange, type ScoreEvent, type SearchPage, type TrackScoreParams } from '../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_: T): void => undefined;

// The SDK's types are the server's schemas, minus the `success` flag the SDK strips.
assertType<Equal<ScoreEvent, Static<typeof ScoreEventItem>>>(true);
assertType<Equal<ScoreChange, Omit<Static<typeof ScoreChangeReply>, 'success'>>>(true);
assertType<Equal<BatchResult, Omit<Static<typeof BatchReply>, 'success'>>>(true);
assertType<Equal<LogRequestResult, Static<typeof LogRequestReply>>>(true);
assertType<Equal<RequestItem, Static<typeof RequestSummary>>>(true);
assertType<Equal<RequestDetail, Static<typeof RequestDetailSchema>>>(true);
assertType<Equal<SearchPage, Omit<Static<typeof SearchReply>, 'success'>>>(true);
assertType<Equal<AgreementResult, Static<typeof AgreementSchema>>>(true);
assertType<Equal<ComparisonResult, Static<typeof ComparisonSchema>>>(true);
assertType<Equal<RateItemResult, Omit<Static<typeof RateItemReply>, 'success'>>>(true);
assertType<Equal<AdjudicateResult, Omit<Static<typeof AdjudicateReply>, 'success'>>>(true);
assertType<Equal<QueueProgress, Static<typeof QueueProgressSchema>>>(true);
assertType<Equal<Dispute, Static<typeof DisputesReply>['disputes'][number]>>(true);
assertType<Equal<ClaimResult, Omit<Static<typeof ClaimReply>, 'success'>>>(true);
assertType<Equal<ItemView, Omit<Static<typeof ItemViewReply>, 'success'>>>(true);
assertType<Equal<QueueAgreement, Omit<Static<typeof QueueAgreementReply>, 'success'>>>(true);
assertType<Equal<ScoresAgreement, Omit<Static<typeof AgreementReply>, 'success'>>>(true);
assertType<Equal<ScoreRating, Static<typeof ScoreRatingItem>>>(true);
assertType<Equal<ItemRating, Static<typeof ScoreRatingItem>>>(true);
assertType<Equal<ScoreDetail, Static<typeof ScoreDetailItem>>>(true);
assertType<Equal<StatsResult, Omit<Static<typeof StatsReply>, 'success'>>>(true);
assertType<Equal<CorrelationResult, Omit<Static<typeof CorrelationReply>, 'success'>>>(true);
assertType<Equal<FacetsResult, Omit<Static<typeof FacetsReply>, 'success'>>>(true);
assertType<Equal<ScoreSchema, Static<typeof ScoreSchemaItem>>>(true);
assertType<Equal<ScoreSchemaRecord, Omit<Static<typeof ScoreSchemaReply>, 'success'>>>(true);
// A queue's filter is typed as the SDK's native filter (what the server accepted); the reply schema
// gives it loosely (every field optional), so it is left out of the comparison.
assertType<Equal<Omit<ReviewQueue, 'filter'>, Omit<Static<typeof QueueItem>, 'filter'>>>(true);
// Every body the SDK sends for track.score is one the server accepts.
const toWire = (p: TrackScoreParams): Omit<Static<typeof TrackScoreBody>, 'api_key'> => p;
void toWire;

declare const tally: Tally;

export async function usage(): Promise<void> {
  const ok: true = await tally.track.score({ request_id: 1, score: 5 });
  await tally.track.score({ request_id: '42', score: 5, name: 'quality' });
  // @ts-expect-error score is required
  await tally.track.score({ request_id: 1 });
  // @ts-expect-error score is a number, not a string
  await tally.track.score({ request_id: 1, score: '5' });
  // @ts-expect-error the metadata values are strings
  await tally.track.metadata({ request_id: 1, metadata: { n: 1 } });

  const groupId: number = await tally.group.create();
  await tally.track.group({ request_id: 1, group_id: groupId });

  const logged = await tally.logRequest({
    provider: 'openai',
    model: 'gpt-4o-mini',
    input: { type: 'chat', messages: [] },
    output: { type: 'chat', messages: [] },
    request_start_time: 1732712345.5,
    request_end_time: '2024-11-27T12:59:06Z',
  });
  const id: number = logged.id;
  // @ts-expect-error the blueprint type is chat or completion
  await tally.logRequest({ provider: 'p', model: 'm', input: { type: 'image' }, output: { type: 'chat' }, request_start_time: 1, request_end_time: 2 });
  // @ts-expect-error status is SUCCESS, WARNING or ERROR
  await tally.logRequest({ provider: 'p', model: 'm', input: { type: 'chat' }, output: { type: 'chat' }, request_start_time: 1, request_end_time: 2, status: 'OK' });

  const change: ScoreChange = await tally.scores.set(id, 'quality', 90, { comment: 'ok', timeoutMs: 1000 });
  const newValue: number | null = change.new_value;
  const history: ScoreEvent[] = await tally.scores.history(id);
  await tally.scores.batch([{ request_id: id, score: 1 }, { request_id: id, name: 'q', score: 2 }, { request_id: id, name: 'v', label: 'good', reasons: ['x'] }]);
  // @ts-expect-error a batch item has a score or a label, not both
  await tally.scores.batch([{ request_id: id, score: 1, label: 'good' }]);
  // @ts-expect-error batch items need a score or a label
  await tally.scores.batch([{ request_id: id }]);

  const detail: RequestDetail = await tally.requests.get(id);
  const scores: Record<string, number> = detail.scores;
  for await (const r of tally.requests.search({ filter: { logic: 'and', filters: [{ field: 'score', name: 'quality', op: '<', value: 50 }, { field: 'tags', op: 'any', value: ['prod'] }] }, sort_by: 'score.quality' })) {
    const rid: number = r.id;
    void rid;
  }
  // @ts-expect-error tags take tag operators
  tally.requests.search({ filter: { field: 'tags', op: '<', value: ['x'] } });
  // @ts-expect-error unknown sort key
  tally.requests.search({ sort_by: 'price_desc' });
  const page: SearchPage = await tally.requests.searchPage({ where: { tag: ['prod', 'eu'], 'score.quality': 'lt:50', min_latency_ms: 100 }, limit: 10 });
  void page.next_cursor;
  // @ts-expect-error simple filters take text or numbers
  tally.requests.searchPage({ where: { tag: { any: 'prod' } } });

  const exp = await tally.export({ format: 'jsonl' });
  for await (const row of exp.rows()) void row.id;
  // @ts-expect-error export formats are csv and jsonl
  await tally.export({ format: 'xlsx' });

  const cmp = await tally.scores.compare({ name: 'quality', a: { prompt_version: 1 }, b: { prompt_version: 2 } });
  const verdict: 'a_better' | 'b_better' | 'no_significant_difference' | 'not_enough_data' = cmp.verdict;

  try {
    await tally.scores.delete(id, 'quality');
  } catch (err) {
    if (err instanceof TallyError) {
      const status: number = err.status;
      const code: string = err.code;
      void [status, code];
    }
  }
  void [ok, newValue, history, scores, verdict];
}
