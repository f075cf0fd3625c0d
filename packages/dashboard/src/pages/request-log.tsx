import { useEffect, useMemo, useState } from 'react';
import { api, ApiError, matchingIds, type RequestSummary, type SearchReply } from '../api.js';
import { FilterPanel } from '../components/filter-panel.js';
import { FirstRequest } from '../components/first-request.js';
import { ScoreNamePicker } from '../components/score-control.js';
import { labelsOf, useScoreNames } from '../score-schemas.js';
import { filterOnly, filtersFromQuery, filtersToQuery, scoreNamesInQuery } from '../filters.js';
import { fmtCost, fmtLatency, fmtTime } from '../format.js';
import { Link, navigate, useLocation } from '../router.js';

const PAGE = 50;
const BATCH_MAX = 1000;
// "All matching" stops here: past it, narrow the filter (each chunk of 1000 is one batch).
const ALL_MATCHING_CAP = 20_000;

interface CountReply {
  count: number;
  exact: boolean;
}

interface Preview {
  id: number;
  input: string;
  output: string;
}

/** "1,234 matching", or "10,000+ matching" past the server's bound. */
export const fmtCount = (c: CountReply): string => `${c.count.toLocaleString('en-US')}${c.exact ? '' : '+'}`;

function StatusBadge({ status }: { status: string }) {
  return <span className={`status-badge status-${status.toLowerCase()}`}>{status}</span>;
}

type SortKey = 'request_start_time' | 'latency_ms' | 'tokens' | 'cost' | `score.${string}`;

function SortHeader({ label, sortKey, query, className, prefix }: { label: string; sortKey: SortKey; query: URLSearchParams; className?: string; prefix?: string }) {
  const current = query.get('sort_by') ?? 'request_start_time';
  const order = query.get('sort_order') ?? 'desc';
  const active = current === sortKey;
  const next = new URLSearchParams(query);
  next.delete('cursor');
  next.set('sort_by', sortKey);
  next.set('sort_order', active && order === 'desc' ? 'asc' : 'desc');
  return (
    <th scope="col" className={[sortKey === 'request_start_time' ? '' : 'num', className ?? ''].join(' ').trim() || undefined} aria-sort={active ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort" onClick={() => navigate(`/requests?${next}`)} title={prefix ? `${prefix}${label}` : undefined}>
        {prefix && <span className="sr-only">{prefix}</span>}
        {label}
        <span aria-hidden="true">{active ? (order === 'asc' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}

export function RequestLogPage() {
  const loc = useLocation();
  const query = loc.query;
  const [data, setData] = useState<SearchReply | null>(null);
  const [loading, setLoading] = useState(true);
  const [total, setTotal] = useState<CountReply | null>(null);
  const [previews, setPreviews] = useState<Map<number, Preview>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [showFilters, setShowFilters] = useState(false);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [bulkName, setBulkName] = useState('default');
  const [bulkValue, setBulkValue] = useState(50);
  const [bulkLabel, setBulkLabel] = useState('');
  const { schemas, names: knownNames } = useScoreNames();
  const bulkLabels = labelsOf(schemas.get(bulkName.trim()));
  const [bulkMsg, setBulkMsg] = useState<string | null>(null);
  const [reload, setReload] = useState(0);
  // Cursors of the pages before this one, for "Previous" (the API's cursors only go forward).
  const [prevCursors, setPrevCursors] = useState<string[]>([]);

  const apiQuery = useMemo(() => {
    const q = new URLSearchParams(query);
    q.set('limit', String(PAGE));
    return q;
  }, [loc.search]);

  useEffect(() => {
    let live = true;
    // Aborted when the page is left or refiltered: the server then stops the read.
    const stop = new AbortController();
    setError(null);
    setLoading(true);
    api<SearchReply>('GET', `/v1/requests/search?${apiQuery}`, undefined, stop.signal).then(
      (r) => {
        if (!live) return;
        setData(r);
        setLoading(false);
        if (r.items.length === 0) return;
        // Previews come after the page, so the table is never held back by them.
        api<{ previews: Preview[] }>('GET', `/v1/requests/previews?ids=${r.items.map((i) => i.id).join(',')}`, undefined, stop.signal).then(
          (p) => live && setPreviews(new Map(p.previews.map((x) => [x.id, x]))),
          () => undefined,
        );
      },
      (e: ApiError) => live && (setError(e.message), setData({ items: [], next_cursor: null, has_more: false }), setLoading(false)),
    );
    return () => {
      live = false;
      stop.abort();
    };
  }, [apiQuery, reload]);

  const filter = filterOnly(query);
  const filterKey = filter.toString();
  useEffect(() => {
    let live = true;
    const stop = new AbortController();
    setTotal(null);
    api<CountReply>('GET', `/v1/requests/count?${filter}`, undefined, stop.signal).then(
      (c) => live && setTotal(c),
      () => undefined,
    );
    return () => {
      live = false;
      stop.abort();
    };
  }, [filterKey, reload]);
  useEffect(() => {
    setSelected(new Set());
    setAllMatching(false);
  }, [filterKey]);

  const items: RequestSummary[] = data?.items ?? [];
  const scoreNames = useMemo(() => {
    const names = new Set<string>(scoreNamesInQuery(query));
    for (const it of items) for (const n of Object.keys(it.scores)) names.add(n);
    return [...names].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
  }, [data, loc.search]);

  const sortParams = new URLSearchParams();
  for (const k of ['sort_by', 'sort_order']) if (query.get(k)) sortParams.set(k, query.get(k)!);
  const exportQuery = new URLSearchParams(filter);
  for (const [k, v] of sortParams) exportQuery.set(k, v);

  const applyFilters = (f: ReturnType<typeof filtersFromQuery>) => {
    const q = filtersToQuery(f);
    for (const [k, v] of sortParams) q.set(k, v);
    setPrevCursors([]);
    navigate(`/requests?${q}`);
  };

  const go = (cursor: string | null, back: boolean) => {
    const q = new URLSearchParams(query);
    if (cursor) q.set('cursor', cursor);
    else q.delete('cursor');
    if (!back) setPrevCursors([...prevCursors, query.get('cursor') ?? '']);
    else setPrevCursors(prevCursors.slice(0, -1));
    navigate(`/requests?${q}`);
  };

  const allOnPage = items.length > 0 && items.every((i) => selected.has(i.id));
  const count = allMatching ? 'all matching' : String(selected.size);

  async function applyBulk() {
    setBulkMsg('Saving…');
    try {
      // Under a schema with labels the batch names a label; otherwise it carries the value.
      const label = bulkLabels ? (bulkLabels.find((l) => l.label === bulkLabel) ?? bulkLabels[0]!).label : null;
      const ids = allMatching ? await matchingIds(filter, ALL_MATCHING_CAP) : [...selected];
      let batches = 0;
      for (let i = 0; i < ids.length; i += BATCH_MAX) {
        await api('POST', '/v1/scores/batch', { items: ids.slice(i, i + BATCH_MAX).map((id) => ({ request_id: id, name: bulkName, ...(label === null ? { score: bulkValue } : { label }) })) });
        batches++;
      }
      setBulkMsg(`Set ${bulkName} = ${label ?? bulkValue} on ${ids.length} request${ids.length === 1 ? '' : 's'}${batches > 1 ? ` in ${batches} batches` : ' in one batch'}.`);
      setSelected(new Set());
      setAllMatching(false);
      setReload((n) => n + 1);
    } catch (e) {
      setBulkMsg(`Not saved: ${(e as Error).message}`);
    }
  }

  // "Review these" on a log filtered by a score reviews that score.
  const reviewName = scoreNamesInQuery(filter)[0];
  const reviewParams = new URLSearchParams(filter);
  if (reviewName) reviewParams.set('name', reviewName);
  const reviewQuery = reviewParams.toString() ? `?${reviewParams}` : '';
  const firstRow = prevCursors.length * PAGE + 1;
  const emptyWorkspace = !loading && total !== null && total.count === 0 && !filterKey;
  const colCount = 10 + scoreNames.length;
  return (
    <div className="page">
      <div className="page-head">
        <div className="title">
          <h1>Requests</h1>
          <span className="total" data-testid="total">
            {total ? `${fmtCount(total)} matching` : ''}
          </span>
        </div>
        <div className="head-actions">
          <button type="button" aria-expanded={showFilters} onClick={() => setShowFilters(!showFilters)}>
            {showFilters ? 'Hide filters' : 'Filters'}
            {filter.toString() ? ` (${[...new Set([...filter.keys()])].length} active)` : ''}
          </button>
          <Link to={`/review${reviewQuery}`} className="button">
            Review these
          </Link>
          <Link to={`/queues?${new URLSearchParams([['new', ''], ...filter])}`} className="button">
            Queue these
          </Link>
          <Link to={`/agreement?${new URLSearchParams([['name', 'default'], ...filter])}`} className="button">
            Agreement on these
          </Link>
          <a className="button" href={`/v1/requests/export?${new URLSearchParams([...exportQuery, ['format', 'csv']])}`} download>
            Export CSV
          </a>
          <a className="button" href={`/v1/requests/export?${new URLSearchParams([...exportQuery, ['format', 'jsonl']])}`} download>
            Export JSONL
          </a>
        </div>
      </div>
      {showFilters && <FilterPanel key={filterKey} initial={filtersFromQuery(query)} onApply={applyFilters} />}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="bulk-bar" role="region" aria-label="Bulk scoring" hidden={emptyWorkspace}>
        <span>{allMatching ? 'All requests matching the filter' : `${selected.size} selected`}</span>
        {allOnPage && !allMatching && data?.has_more && (
          <button type="button" onClick={() => setAllMatching(true)}>
            Select all matching the filter
          </button>
        )}
        <ScoreNamePicker value={bulkName} onChange={setBulkName} names={knownNames} name="bulk-name" />
        {bulkLabels ? (
          <label>
            Label
            <select name="bulk-label" aria-label="Label" value={bulkLabels.some((l) => l.label === bulkLabel) ? bulkLabel : bulkLabels[0]!.label} onChange={(e) => setBulkLabel(e.target.value)}>
              {bulkLabels.map((l) => (
                <option key={l.label} value={l.label}>
                  {l.label} ({l.value})
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            Value
            <input type="number" min={0} max={100} value={bulkValue} name="bulk-value" onChange={(e) => setBulkValue(Math.max(0, Math.min(100, Math.round(Number(e.target.value)))))} />
          </label>
        )}
        <button type="button" className="primary" disabled={(!allMatching && selected.size === 0) || !bulkName} onClick={applyBulk}>
          Set score on {count}
        </button>
        {bulkMsg && <span role="status">{bulkMsg}</span>}
      </div>
      {emptyWorkspace && <FirstRequest />}
      <div className="table-wrap" aria-busy={loading} hidden={emptyWorkspace}>
        <table className="log">
          <thead>
            <tr>
              <th scope="col">
                <input
                  type="checkbox"
                  aria-label="Select all rows on this page"
                  checked={allOnPage || allMatching}
                  onChange={(e) => {
                    setAllMatching(false);
                    setSelected(e.target.checked ? new Set(items.map((i) => i.id)) : new Set());
                  }}
                />
              </th>
              <SortHeader label="Time" sortKey="request_start_time" query={query} />
              <th scope="col">Status</th>
              <th scope="col">Model / prompt</th>
              <th scope="col" className="conversation-col">
                Input / output
              </th>
              <SortHeader label="Latency" sortKey="latency_ms" query={query} />
              <SortHeader label="Tokens" sortKey="tokens" query={query} className="tokens-col" />
              <SortHeader label="Cost" sortKey="cost" query={query} />
              <th scope="col">Tags</th>
              {scoreNames.map((n) => (
                <SortHeader key={n} label={n} prefix="Score: " sortKey={`score.${n}`} query={query} className="score-col" />
              ))}
            </tr>
          </thead>
          <tbody>
            {loading && (
              <tr>
                <td colSpan={colCount} className="empty" role="status">
                  Loading requests…
                </td>
              </tr>
            )}
            {!loading && items.map((r) => (
              <tr key={r.id} className={r.status === 'ERROR' ? 'row-error' : ''}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select request ${r.id}`}
                    checked={allMatching || selected.has(r.id)}
                    onChange={(e) => {
                      setAllMatching(false);
                      const next = new Set(selected);
                      if (e.target.checked) next.add(r.id);
                      else next.delete(r.id);
                      setSelected(next);
                    }}
                  />
                </td>
                <td className="nowrap">
                  <Link to={`/requests/${r.id}`}>{fmtTime(r.request_start_time)}</Link>
                </td>
                <td>
                  <StatusBadge status={r.status} />
                </td>
                <td className="model">
                  <div title={`${r.provider} / ${r.model}`}>
                    <span className="provider">{r.provider} / </span>
                    {r.model}
                  </div>
                  <div className="muted">{r.prompt_name ? `${r.prompt_name}${r.prompt_version !== null ? ` v${r.prompt_version}` : ''}` : '–'}</div>
                </td>
                <td className="previews">
                  {(['input', 'output'] as const).map((side) => {
                    const text = previews.get(r.id)?.[side];
                    // Plain text only: React escapes it, and the cell cuts it to one line.
                    return (
                      <div key={side} className={`preview preview-${side}`} data-preview={side} title={text}>
                        {text === undefined ? '\u00a0' : text || <span className="muted">{side === 'output' && r.status === 'ERROR' ? '(failed)' : '(empty)'}</span>}
                      </div>
                    );
                  })}
                </td>
                <td className="num">{fmtLatency(r.latency_ms)}</td>
                <td className="num tokens-col">{r.tokens}</td>
                <td className="num">{fmtCost(r.price)}</td>
                <td className="tags">
                  {r.tags.map((t) => (
                    <span key={t} className="tag" title={t}>
                      {t}
                    </span>
                  ))}
                </td>
                {scoreNames.map((n) => (
                  <td key={n} className="num score-cell" data-score-name={n}>
                    {r.scores[n] ?? '–'}
                  </td>
                ))}
              </tr>
            ))}
            {!loading && items.length === 0 && !emptyWorkspace && (
              <tr>
                <td colSpan={colCount} className="empty">
                  {filterKey ? 'No requests match the filter.' : 'No requests yet.'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Pages" hidden={emptyWorkspace}>
        <button type="button" disabled={prevCursors.length === 0 && !query.get('cursor')} onClick={() => go(prevCursors.at(-1) || null, true)}>
          ← Previous
        </button>
        <span data-testid="page-range">
          {loading ? 'Loading…' : items.length === 0 ? 'None shown' : `${firstRow.toLocaleString('en-US')}–${(firstRow + items.length - 1).toLocaleString('en-US')}${total ? ` of ${fmtCount(total)}` : ''}`}
        </span>
        <button type="button" disabled={!data?.has_more} onClick={() => go(data?.next_cursor ?? null, false)}>
          Next →
        </button>
      </nav>
    </div>
  );
}
