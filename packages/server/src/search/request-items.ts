import type { Static } from '@sinclair/typebox';
import { toIso } from '../domain/timestamps.js';
import type { PromptLayerSearchItem, RequestDetail, RequestSummary as RequestSummaryItem } from '../schemas/search.js';
import type { RequestSummary, StoredRequest } from '../store/types.js';

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
    price_source: r.priceSource,
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

/** One request with everything logged. */
export function detailItem(r: StoredRequest): Static<typeof RequestDetail> {
  return {
    ...summaryItem(r),
    input: r.input,
    output: r.output,
    parameters: r.parameters,
    prompt_input_variables: r.promptInputVariables,
  };
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
