import type { Insertable } from 'kysely';
import type { NewRequest } from '../domain/request-shape.js';
import type { RequestsTable } from './schema.js';

/**
 * The statements every write runs, as SQL text written once instead of built by Kysely's query
 * builder on every call: building costs more than SQLite takes to run them (bench/writer.ts).
 * Each names its parameters; a dialect renders the placeholders its driver takes (`render`).
 */
export interface Statement {
  /** The SQL text around the parameters: one more part than names. */
  readonly parts: readonly string[];
  /** The parameters, in the order they appear in the text. */
  readonly names: readonly string[];
  /** Gives its one row as an object of its columns, instead of one value. */
  readonly row?: true;
}

const statement = (parts: TemplateStringsArray, ...names: string[]): Statement => ({ parts: [...parts], names });
const rowStatement = (parts: TemplateStringsArray, ...names: string[]): Statement => ({ parts: [...parts], names, row: true });

/** The columns of `ratingRules`' row. */
export interface RatingRulesRow {
  strict: number;
  version: number | null;
  kind: string | null;
  min_value: number | null;
  max_value: number | null;
  labels: string | null;
  reasons: string | null;
  comment_required_below: number | null;
  aggregate: string | null;
}

export const REQUEST_COLUMNS = [
  'workspace_id', 'provider', 'model', 'function_name', 'api_type', 'input', 'output', 'parameters', 'prompt_name', 'prompt_id',
  'prompt_version', 'prompt_label', 'prompt_input_variables', 'input_tokens', 'output_tokens', 'price', 'status', 'error_type',
  'error_message', 'request_start_time', 'request_end_time', 'latency_ms', 'span_id', 'created_at', 'price_source',
] as const satisfies readonly (keyof Insertable<RequestsTable>)[];

const insertRequest: Statement = {
  parts: [`insert into requests (${REQUEST_COLUMNS.join(', ')}) values (`, ...REQUEST_COLUMNS.slice(1).map(() => ', '), ') returning id'],
  names: REQUEST_COLUMNS,
};

/**
 * Each gives at most one row of one column, and that value is what running it gives: `undefined`
 * when there is no row, and for a statement that returns nothing. A `row` statement gives its row.
 */
export const WRITE_STATEMENTS = {
  insertRequest,
  insertTag: statement`insert into request_tags (workspace_id, request_id, tag) values (${'workspace_id'}, ${'request_id'}, ${'tag'})`,
  insertMetadata: statement`insert into request_metadata (workspace_id, request_id, key, value) values (${'workspace_id'}, ${'request_id'}, ${'key'}, ${'value'})`,
  upsertMetadata: statement`insert into request_metadata (workspace_id, request_id, key, value) values (${'workspace_id'}, ${'request_id'}, ${'key'}, ${'value'})
    on conflict (request_id, key) do update set value = excluded.value`,
  requireRequest: statement`select id from requests where id = ${'request_id'} and workspace_id = ${'workspace_id'}`,
  oldScore: statement`select value from scores where request_id = ${'request_id'} and name = ${'name'}`,
  /**
   * The workspace's strict flag and the schema in force for a name (its highest version, unless
   * archived): what every score write is checked against, read in its own transaction.
   */
  ratingRules: rowStatement`select w.strict_score_names as strict, s.version, s.kind, s.min_value, s.max_value, s.labels, s.reasons, s.comment_required_below, s.aggregate
    from workspaces w left join score_schemas s on s.workspace_id = w.id and s.name = ${'name'} and s.archived_at is null
      and s.version = (select max(v.version) from score_schemas v where v.workspace_id = w.id and v.name = ${'name'})
    where w.id = ${'workspace_id'}`,
  /**
   * Gives the value written, or undefined when the row is adjudicated (its rater carries the mark
   * of domain/score-schema.ts ADJUDICATED_MARK) and this write is not an adjudication: the row
   * is then left as it is.
   */
  upsertScore: statement`insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source, label, comment, reasons, rater, schema_version)
    values (${'workspace_id'}, ${'request_id'}, ${'name'}, ${'value'}, ${'at'}, ${'actor'}, ${'source'}, ${'label'}, ${'comment'}, ${'reasons'}, ${'rater'}, ${'schema_version'})
    on conflict (request_id, name) do update set value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by, source = excluded.source,
      label = excluded.label, comment = excluded.comment, reasons = excluded.reasons, rater = excluded.rater, schema_version = excluded.schema_version
      where coalesce(substr(scores.rater, 1, 12), '') <> 'adjudicated:' or substr(excluded.rater, 1, 12) = 'adjudicated:'
    returning value`,
  appendEvent: statement`insert into score_events (workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, at, rater, rating, label, reasons, schema_version, kind)
    values (${'workspace_id'}, ${'request_id'}, ${'name'}, ${'old_value'}, ${'new_value'}, ${'actor'}, ${'source'}, ${'comment'}, ${'batch_id'}, ${'at'}, ${'rater'}, ${'rating'}, ${'label'}, ${'reasons'}, ${'schema_version'}, ${'kind'})`,
  deleteScore: statement`delete from scores where request_id = ${'request_id'} and name = ${'name'} returning value`,
  setPrompt: statement`update requests set prompt_name = ${'prompt_name'}, prompt_version = ${'prompt_version'}, prompt_label = ${'prompt_label'}, prompt_input_variables = ${'prompt_input_variables'}
    where id = ${'request_id'} and workspace_id = ${'workspace_id'}`,
  createGroup: statement`insert into groups (workspace_id, created_at) values (${'workspace_id'}, ${'created_at'}) returning id`,
  requireGroup: statement`select id from groups where id = ${'group_id'} and workspace_id = ${'workspace_id'}`,
  traceSpan: statement`select request_id from trace_spans where workspace_id = ${'workspace_id'} and trace_id = ${'trace_id'} and span_id = ${'span_id'}`,
  insertTraceSpan: statement`insert into trace_spans (workspace_id, trace_id, span_id, request_id) values (${'workspace_id'}, ${'trace_id'}, ${'span_id'}, ${'request_id'})`,
  traceGroup: statement`select group_id from trace_groups where workspace_id = ${'workspace_id'} and trace_id = ${'trace_id'}`,
  insertTraceGroup: statement`insert into trace_groups (workspace_id, trace_id, group_id) values (${'workspace_id'}, ${'trace_id'}, ${'group_id'})`,
  upsertModelPrice: statement`insert into model_prices (workspace_id, model, effective_from, input, output, cached_input, updated_at)
    values (${'workspace_id'}, ${'model'}, ${'effective_from'}, ${'input'}, ${'output'}, ${'cached_input'}, ${'updated_at'})
    on conflict (workspace_id, model, effective_from) do update set input = excluded.input, output = excluded.output, cached_input = excluded.cached_input, updated_at = excluded.updated_at`,
  linkGroup: statement`insert into request_groups (workspace_id, request_id, group_id) values (${'workspace_id'}, ${'request_id'}, ${'group_id'})
    on conflict (request_id, group_id) do nothing`,
} satisfies Record<string, Statement>;

export type StatementName = keyof typeof WRITE_STATEMENTS;

/** Whether a statement gives its row (Statement.row) rather than one value. */
export const givesRow = (name: StatementName): boolean => (WRITE_STATEMENTS[name] as Statement).row === true;

/** Every statement's text with the dialect's placeholder for the n-th parameter (from 1). */
export function renderStatements(placeholder: (n: number) => string): Record<StatementName, string> {
  const render = (s: Statement) => s.parts.reduce((text, part, i) => (i === 0 ? part : `${text}${placeholder(i)}${part}`), '');
  return Object.fromEntries(Object.entries(WRITE_STATEMENTS).map(([name, s]) => [name, render(s)])) as Record<StatementName, string>;
}

/** A statement's parameters in placeholder order; a missing one is NULL. */
export const bindParameters = (name: StatementName, params: Readonly<Record<string, unknown>>): unknown[] =>
  WRITE_STATEMENTS[name].names.map((n) => params[n] ?? null);

/**
 * The row of a logged request, as stored (content as JSON text). `computedPrice` is the price Tally
 * computed for a request logged without one (store/pricing.ts); null leaves the logged price.
 */
export function requestRow(workspaceId: number, r: NewRequest, now: number, computedPrice: number | null = null): Insertable<RequestsTable> {
  return {
    workspace_id: workspaceId,
    provider: r.provider,
    model: r.model,
    function_name: r.functionName,
    api_type: r.apiType,
    input: JSON.stringify(r.input),
    output: JSON.stringify(r.output),
    parameters: JSON.stringify(r.parameters),
    prompt_name: r.promptName,
    prompt_id: r.promptId,
    prompt_version: r.promptVersion,
    prompt_label: null,
    prompt_input_variables: JSON.stringify(r.promptInputVariables),
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    price: computedPrice ?? r.price,
    status: r.status,
    error_type: r.errorType,
    error_message: r.errorMessage,
    request_start_time: r.startMs,
    request_end_time: r.endMs,
    latency_ms: r.endMs - r.startMs,
    span_id: r.spanId,
    created_at: now,
    price_source: computedPrice !== null ? 'computed' : r.price > 0 ? 'logged' : null,
  };
}
