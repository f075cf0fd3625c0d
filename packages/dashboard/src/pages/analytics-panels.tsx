import { useEffect, useState } from 'react';
import { CartesianGrid, ComposedChart, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { CorrelationResult, CorrelationX, FacetsResult, StatsResult } from '@tally/sdk';
import { api, useApiGet, type StatsEntry } from '../api.js';
import { fmtCost, fmtLatency, fmtNum } from '../format.js';

export type Facets = FacetsResult;

/**
 * The values the pickers offer; null until read (the pickers are then empty and disabled). While
 * `wait` is true nothing is read: a page whose first figures do not need the facets asks for them
 * after, since a workspace's reads take turns.
 */
export function useFacets(wait = false): Facets | null {
  const [facets, setFacets] = useState<Facets | null>(null);
  useEffect(() => {
    if (wait) return;
    let live = true;
    const stop = new AbortController();
    api<Facets>('GET', '/v1/requests/facets?limit=500', undefined, stop.signal).then(
      (f) => live && setFacets(f),
      () => live && setFacets({ limit: 0, prompts: { values: [], truncated: false }, models: { values: [], truncated: false }, tags: { values: [], truncated: false }, metadata_keys: { values: [], truncated: false }, score_names: { values: [], truncated: false } }),
    );
    return () => {
      live = false;
      stop.abort();
    };
  }, [wait]);
  return facets;
}

export const RANGES = [
  ['all', 'All time', 0],
  ['24h', 'Last 24 h', 24 * 3_600_000],
  ['7d', 'Last 7 days', 7 * 24 * 3_600_000],
  ['30d', 'Last 30 days', 30 * 24 * 3_600_000],
  ['custom', 'Custom…', 0],
] as const;
export type RangeKey = (typeof RANGES)[number][0];

/**
 * The page's filters as search parameters (`from`, `to`, `tag`), read from the page's URL:
 * `range` a preset (measured back from when the page read it) or `custom` with `from` and `to`
 * as entered (local time).
 */
export function pageFilter(query: URLSearchParams, now: number): [string, string][] {
  const out: [string, string][] = [];
  const range = (query.get('range') ?? 'all') as RangeKey;
  const preset = RANGES.find((r) => r[0] === range);
  if (range === 'custom') {
    for (const k of ['from', 'to'] as const) {
      const v = query.get(k);
      if (v && !Number.isNaN(Date.parse(v))) out.push([k, new Date(v).toISOString()]);
    }
  } else if (preset && preset[2] > 0) out.push(['from', new Date(now - preset[2]).toISOString()]);
  const tag = query.get('tag');
  if (tag) out.push(['tag', tag]);
  return out;
}

/** Time range and tag: the filters every figure of the page is read with. */
export function FilterBar({ query, facets, set }: { query: URLSearchParams; facets: Facets | null; set: (changes: Record<string, string | null>) => void }) {
  const range = (query.get('range') ?? 'all') as RangeKey;
  return (
    <section className="card page-filters" aria-label="Filters">
      <label>
        Time range
        <select value={range} onChange={(e) => set({ range: e.target.value === 'all' ? null : e.target.value })}>
          {RANGES.map(([key, label]) => (
            <option key={key} value={key}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {range === 'custom' && (
        <>
          <label>
            From
            <input type="datetime-local" name="range.from" value={query.get('from') ?? ''} onChange={(e) => set({ from: e.target.value || null })} />
          </label>
          <label>
            To
            <input type="datetime-local" name="range.to" value={query.get('to') ?? ''} onChange={(e) => set({ to: e.target.value || null })} />
          </label>
        </>
      )}
      <label>
        Tag
        <select value={query.get('tag') ?? ''} onChange={(e) => set({ tag: e.target.value || null })} disabled={!facets}>
          <option value="">any tag</option>
          {(facets?.tags.values ?? []).map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <span className="muted filter-note">Applies to every figure on this page.</span>
    </section>
  );
}

/** Scored requests a breakdown counts: the newest. */
const BREAKDOWN_WINDOW = 10_000;

/** A score broken down by tag or by the value of a metadata key, as a table. */
export function BreakdownPanel({ name, filter, facets, by, setBy }: { name: string; filter: [string, string][]; facets: Facets | null; by: string; setBy: (by: string) => void }) {
  // A breakdown joins every score with its tags or metadata: over the newest scored requests only,
  // so it answers in a moment however many the workspace holds (the panel says so).
  const { reply, error } = useApiGet<StatsResult>(`/v1/scores/stats?${new URLSearchParams([['name', name], ['group_by', by], ['limit', String(BREAKDOWN_WINDOW)], ...filter])}`);
  const metaKey = by.startsWith('metadata.') ? by.slice('metadata.'.length) : null;
  const label = metaKey ?? 'Tag';
  const empty = metaKey ? `no ${metaKey}` : 'untagged';
  const entries: StatsEntry[] = reply?.scores ?? [];
  const groupOf = (e: StatsEntry) => (metaKey ? e.group?.metadata_value : e.group?.tag) ?? null;
  return (
    <section className="card" aria-label="Breakdown">
      <div className="card-head">
        <h2>
          {name} by {metaKey ? metaKey : 'tag'}
        </h2>
        <label>
          Break down by
          <select value={by} onChange={(e) => setBy(e.target.value)}>
            <option value="tag">tag</option>
            {(facets?.metadata_keys.values ?? []).map((k) => (
              <option key={k} value={`metadata.${k}`}>
                metadata: {k}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {reply && entries.length === 0 && <p className="muted">No scores.</p>}
      {entries.length > 0 && (
        <table className="breakdown">
          <thead>
            <tr>
              <th scope="col">{label}</th>
              <th scope="col" className="num">
                Count
              </th>
              <th scope="col" className="num">
                Mean
              </th>
              <th scope="col" className="num">
                Std dev
              </th>
              <th scope="col" className="num">
                p50
              </th>
              <th scope="col" className="bar-col" aria-hidden="true" />
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => {
              const g = groupOf(e);
              return (
                <tr key={i} data-group={g ?? ''}>
                  <td className="group-value" title={g ?? undefined}>{g ?? <span className="muted">({empty})</span>}</td>
                  <td className="num">{e.count}</td>
                  <td className="num">{fmtNum(e.mean)}</td>
                  <td className="num">{fmtNum(e.stddev)}</td>
                  <td className="num">{fmtNum(e.p50)}</td>
                  <td className="bar-col" aria-hidden="true">
                    <span className="reason-bar" style={{ width: `${e.mean ?? 0}%` }} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {reply?.window?.truncated && (
        <p className="muted" data-testid="breakdown-window">
          Over the latest {BREAKDOWN_WINDOW.toLocaleString('en-US')} requests scored {name}; older ones are left out.
        </p>
      )}
      {reply?.groups_truncated && <p className="muted">Only the 50 groups with the most scores are shown.</p>}
    </section>
  );
}

const X_CHOICES: [CorrelationX, string][] = [
  ['latency_ms', 'latency'],
  ['cost', 'cost'],
  ['tokens', 'tokens (in + out)'],
  ['input_tokens', 'input tokens'],
  ['output_tokens', 'output tokens'],
];

const fmtX = (x: CorrelationX, v: number): string => (x === 'latency_ms' ? fmtLatency(v) : x === 'cost' ? fmtCost(v) : String(Math.round(v)));

/** A score against latency, cost or tokens: its mean per decile of x, and Spearman's rho. */
export function CorrelationPanel({ name, filter, x, setX }: { name: string; filter: [string, string][]; x: CorrelationX; setX: (x: CorrelationX) => void }) {
  const { reply, error } = useApiGet<CorrelationResult>(`/v1/scores/correlation?${new URLSearchParams([['name', name], ['x', x], ...filter])}`);
  const xLabel = X_CHOICES.find((c) => c[0] === x)![1];
  const rho = reply?.spearman.rho;
  const data = (reply?.bins ?? []).map((b) => ({ ...b, score_mean: Math.round(b.score_mean * 100) / 100 }));
  return (
    <section className="card" aria-label="Score against">
      <div className="card-head">
        <h2>
          {name} against {xLabel}
        </h2>
        <label>
          Against
          <select value={x} onChange={(e) => setX(e.target.value as CorrelationX)}>
            {X_CHOICES.map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {reply && (
        <p className="rho" data-rho={rho ?? ''}>
          Spearman’s ρ = <strong>{rho === null || rho === undefined ? '–' : rho.toFixed(2)}</strong> (n = {reply.n})
          <span className="muted">
            {' '}
            · mean {name} per tenth of requests by {xLabel}
            {reply.window.truncated && ` · over the latest ${reply.n.toLocaleString('en-US')} scored requests`}
          </span>
        </p>
      )}
      {data.length > 0 && (
        <ResponsiveContainer width="100%" height={240}>
          <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis
              dataKey="x_mean"
              type="number"
              domain={['dataMin', 'dataMax']}
              tickFormatter={(v: number) => fmtX(x, v)}
              fontSize={11}
              minTickGap={24}
              label={{ value: `${xLabel} (bin mean)`, position: 'insideBottom', offset: -12, fontSize: 11 }}
            />
            <YAxis domain={[0, 100]} fontSize={11} label={{ value: `mean ${name}`, angle: -90, position: 'insideLeft', offset: 4, fontSize: 11 }} />
            <Tooltip
              labelFormatter={(v) => `${xLabel} ≈ ${fmtX(x, Number(v))}`}
              formatter={(v, _n, item) => [`${v} (${(item.payload as { count: number }).count} requests)`, `mean ${name}`]}
            />
            <Line dataKey="score_mean" name={`mean ${name}`} stroke="#d8594f" strokeWidth={2} dot isAnimationActive={false} />
          </ComposedChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}
