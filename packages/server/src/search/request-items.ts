import type { Static } from '@sinclair/typebox';
import { toIso } from '../domain/timestamps.js';
import type { PromptLayerSearchItem, RequestDetail, RequestSummary as RequestSummaryItem } from '../schemas/search.js';
import type { CurrentRating, RequestSummary, ScoreDetail, StoredRequest } from '../store/types.js';
import type { ScoreDetailItem } from '../schemas/search.js';

/** A search hit on the wire: snake_case, ISO 8601 times, no logged content. */
export function summaryItem(r: RequestSummary): Static<typeof RequestSummaryItem> {
  return {
    id: r.id,
    provider: r.provider,
    model: r.model,
    function_name: r.functionName,
    api_type: r.apiType,
    prompt_name: r.promptName,
    prompt_id: r.promptId,
    prompt_version: r.promptVersion,
    prompt_label: r.promptLabel,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    tokens: r.inputTokens + r.outputTokens,
    price: r.price,
    status: r.status,
    error_type: r.errorType,
    error_message: r.errorMessage,
    request_start_time: toIso(r.startMs),
    request_end_time: toIso(r.endMs),
    latency_ms: r.latencyMs,
    span_id: r.spanId,
    group_ids: r.groupIds,
    tags: r.tags,
    metadata: r.metadata,
    scores: r.scores,
    created_at: toIso(r.createdAt),
  };
}

/** A score's details on the wire; with `ratings` when they were read. */
export function scoreDetailItem(d: ScoreDetail, ratings?: readonly CurrentRating[]): Static<typeof ScoreDetailItem> {
  const item: Static<typeof ScoreDetailItem> = {
    value: d.value,
    label: d.label,
    comment: d.comment,
    reasons: d.reasons,
    source: d.source,
    actor: d.actor,
    rater: d.rater,
    updated_at: toIso(d.updatedAt),
    schema_version: d.schemaVersion,
  };
  if (ratings) {
    item.ratings = ratings.map((r) => ({ rater: r.rater, value: r.value, label: r.label, comment: r.comment, reasons: r.reasons, source: r.source, at: toIso(r.at) }));
  }
  return item;
}

/**
 * One request with everything logged; `score_details` when the read asked for them, each with its
 * ratings when `ratings` (ScoreStore.currentRatings of this request) are given.
 */
export function detailItem(r: StoredRequest, ratings?: readonly CurrentRating[]): Static<typeof RequestDetail> {
  const item: Static<typeof RequestDetail> = {
    ...summaryItem(r),
    input: r.input,
    output: r.output,
    parameters: r.parameters,
    prompt_input_variables: r.promptInputVariables,
  };
  if (r.scoreDetails) {
    const details: Record<string, Static<typeof ScoreDetailItem>> = {};
    for (const [name, d] of Object.entries(r.scoreDetails)) details[name] = scoreDetailItem(d, ratings?.filter((x) => x.name === name));
    item.score_details = details;
  }
  return item;
}

/** An item of PromptLayer's search; `latency` is in seconds (PromptLayer names milliseconds `latency_ms`). */
export function promptLayerItem(r: RequestSummary): Static<typeof PromptLayerSearchItem> {
  return {
    id: r.id,
    engine: r.model,
    provider_type: r.provider,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    price: r.price,
    request_start_time: toIso(r.startMs),
    request_end_time: toIso(r.endMs),
    latency: r.latencyMs / 1000,
    tags_array: r.tags,
    metadata: r.metadata,
    scores: r.scores,
    prompt_name: r.promptName,
    prompt_version: r.promptVersion,
    status: r.status,
  };
}
