import { useDeferredValue, useEffect, useMemo, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { StatsResult } from '@tally/sdk';
import { api, type CompareReply, type StatsEntry } from '../api.js';
import { fmtNum } from '../format.js';
import { Link, navigate, useLocation } from '../router.js';
import { labelsOf, useScoreNames, type ScoreLabel } from '../score-schemas.js';
import { BreakdownPanel, CorrelationPanel, FilterBar, pageFilter, useFacets, type Facets } from './analytics-panels.js';
import type { CorrelationX } from '@tally/sdk';

const HOUR_MS = 3_600_000;
const pad = (n: number) => String(n).padStart(2, '0');
/** Time ticks in UTC, as the series' buckets are: a day as 2025-01-10, an hour as 01-10 14:00. */
const fmtBucket = (t: number, interval: 'day' | 'hour'): string => {
  const d = new Date(t);
  const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return interval === 'hour' ? `${day} ${pad(d.getUTCHours())}:00` : `${d.getUTCFullYear()}-${day}`;
};

interface SeriesPoint {
  t: number;
  count: number | null;
  mean: number | null;
}

/**
 * The series on a numeric time axis: each bucket sits at its own time, so a gap of weeks shows as
 * one. Where buckets are not adjacent, one empty point breaks the mean's line rather than drawing
 * it across time with no data.
 */
export function timeSeries(series: { start: string; count: number; mean: number }[], interval: 'day' | 'hour'): SeriesPoint[] {
  const step = interval === 'hour' ? HOUR_MS : 24 * HOUR_MS;
  const out: SeriesPoint[] = [];
  for (const p of series) {
    const t = Date.parse(p.start);
    const prev = out.at(-1);
    if (prev && t - prev.t > step) out.push({ t: prev.t + step, count: null, mean: null });
    out.push({ t, count: p.count, mean: Math.round(p.mean * 100) / 100 });
  }
  return out;
}

/** How often each reason came with a name's current scores. */
type ReasonCounts = StatsResult['reasons'][number];

/** How often each reason was given with the name's current scores; a reason's row opens the request log filtered by it. */
function ReasonTable({ counts }: { counts: ReasonCounts }) {
  const most = Math.max(1, ...counts.reasons.map((r) => r.count));
  return (
    <section className="card" aria-label="Reasons">
      <h2>Reasons given with {counts.name}</h2>
      <table className="reason-table">
        <thead>
          <tr>
            <th scope="col">Reason</th>
            <th scope="col" className="num">
              Scores
            </th>
            <th scope="col" className="num">
              Low (below {counts.low_below})
            </th>
            <th scope="col" className="bar-col" aria-hidden="true" />
          </tr>
        </thead>
        <tbody>
          {counts.reasons.map((r) => (
            <tr key={r.reason} data-reason={r.reason}>
              <td>
                <Link to={`/requests?${new URLSearchParams([[`reason.${counts.name}`, r.reason]])}`} aria-label={`Requests whose ${counts.name} gave the reason ${r.reason}`}>
                  {r.reason}
                </Link>
              </td>
              <td className="num">{r.count}</td>
              <td className="num">{r.low}</td>
              <td className="bar-col" aria-hidden="true">
                <span className="reason-bar" style={{ width: `${(r.count / most) * 100}%` }}>
                  <span className="reason-bar-low" style={{ width: `${r.count ? (r.low / r.count) * 100 : 0}%` }} />
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

interface LabelBar {
  label: string;
  value: string;
  count: number;
}

/**
 * A histogram of a labelled name: one bar per label, at its value (from the stats' 100 one-wide
 * buckets), and an "other" bar for scores at no label's value (written before the schema, or
 * under an earlier version). The last bucket holds 99 and 100 together; labels on both share it.
 */
export function labelHistogram(buckets: { from: number; count: number }[], labels: ScoreLabel[]): LabelBar[] {
  const at = (v: number) => Math.min(v, buckets.length - 1);
  const used = new Set<number>();
  const bars = [...labels]
    .sort((a, b) => a.value - b.value)
    .map((l) => {
      used.add(at(l.value));
      return { label: l.label, value: String(l.value), count: buckets[at(l.value)]?.count ?? 0 };
    });
  const other = buckets.reduce((n, b, i) => n + (used.has(i) ? 0 : b.count), 0);
  if (other > 0) bars.push({ label: 'other', value: '–', count: other });
  return bars;
}

/** An x-axis tick of two lines: the value, and under it its label. */
function LabelTick(props: { x?: number; y?: number; payload?: { value: string }; bars: LabelBar[] }) {
  const bar = props.bars.find((b) => b.label === props.payload?.value);
  return (
    <text x={props.x} y={props.y} textAnchor="middle" fontSize={11} fill="#667085" className="label-tick">
      <tspan x={props.x} dy={10}>
        {bar?.value ?? ''}
      </tspan>
      <tspan x={props.x} dy={13} fill="#1d2330" fontWeight={600}>
        {props.payload?.value}
      </tspan>
    </text>
  );
}

const COHORT_FIELDS = [
  ['prompt_name', 'Prompt name', 'select'],
  ['prompt_version', 'Prompt version', 'select'],
  ['model', 'Model', 'select'],
  ['tag', 'Tag', 'select'],
  ['from', 'From', 'datetime-local'],
  ['to', 'To', 'datetime-local'],
] as const;

/** A cohort picker's choices: what exists in the workspace, versions of the picked prompt only. */
function cohortOptions(key: (typeof COHORT_FIELDS)[number][0], c: Record<string, string>, facets: Facets | null): string[] {
  if (!facets) return [];
  switch (key) {
    case 'prompt_name':
      return facets.prompts.values.map((p) => p.prompt_name);
    case 'prompt_version': {
      const prompts = facets.prompts.values.filter((p) => !c.prompt_name || p.prompt_name === c.prompt_name);
      return [...new Set(prompts.flatMap((p) => p.versions))].sort((a, b) => a - b).map(String);
    }
    case 'model':
      return facets.models.values;
    case 'tag':
      return facets.tags.values;
    default:
      return [];
  }
}

type Cohort = Record<(typeof COHORT_FIELDS)[number][0], string>;
const emptyCohort = (): Cohort => ({ prompt_name: '', prompt_version: '', model: '', tag: '', from: '', to: '' });

function GroupTable({ title, entries, columns }: { title: string; entries: StatsEntry[]; columns: [keyof NonNullable<StatsEntry['group']>, string][] }) {
  return (
    <section aria-label={title} className="card">
      <h2>{title}</h2>
      {entries.length === 0 ? (
        <p className="muted">No scores.</p>
      ) : (
        <table>
          <thead>
            <tr>
              {columns.map(([, label]) => (
                <th key={label} scope="col">
                  {label}
                </th>
              ))}
              <th scope="col">Count</th>
              <th scope="col">Mean</th>
              <th scope="col">Std dev</th>
              <th scope="col">Min</th>
              <th scope="col">Max</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={i}>
                {columns.map(([key]) => (
                  <td key={key}>{e.group?.[key] ?? '–'}</td>
                ))}
                <td className="num">{e.count}</td>
                <td className="num">{fmtNum(e.mean)}</td>
                <td className="num">{fmtNum(e.stddev)}</td>
                <td className="num">{fmtNum(e.min)}</td>
                <td className="num">{fmtNum(e.max)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const VERDICT: Record<CompareReply['verdict'], string> = {
  a_better: 'A scores better',
  b_better: 'B scores better',
  no_significant_difference: 'No significant difference',
  not_enough_data: 'Not enough data to tell',
};

function ComparePanel({ name, facets, filter }: { name: string; facets: Facets | null; filter: [string, string][] }) {
  const [a, setA] = useState<Cohort>(emptyCohort);
  const [b, setB] = useState<Cohort>(emptyCohort);
  const [result, setResult] = useState<CompareReply | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cohortInputs = (side: 'a' | 'b', c: Cohort, set: (c: Cohort) => void) => (
    <fieldset>
      <legend>Cohort {side.toUpperCase()}</legend>
      {COHORT_FIELDS.map(([key, label, type]) => (
        <label key={key}>
          {label}
          {type === 'select' ? (
            <select
              name={`${side}.${key}`}
              value={c[key]}
              disabled={!facets}
              // A new prompt clears a version it does not have.
              onChange={(e) => set({ ...c, [key]: e.target.value, ...(key === 'prompt_name' ? { prompt_version: '' } : {}) })}
            >
              <option value="">any</option>
              {cohortOptions(key, c, facets).map((v) => (
                <option key={v} value={v}>
                  {v}
                </option>
              ))}
            </select>
          ) : (
            <input name={`${side}.${key}`} type={type} value={c[key]} onChange={(e) => set({ ...c, [key]: e.target.value })} />
          )}
        </label>
      ))}
    </fieldset>
  );
  return (
    <section className="card" aria-label="Compare two cohorts">
      <h2>Compare two cohorts</h2>
      <form
        className="compare-form"
        onSubmit={async (e) => {
          e.preventDefault();
          // The page's time range and tag hold for both cohorts.
          const q = new URLSearchParams([['name', name], ...filter]);
          for (const [side, c] of [['a', a], ['b', b]] as const) {
            for (const [key] of COHORT_FIELDS) {
              const v = c[key].trim();
              if (v) q.set(`${side}.${key}`, key === 'from' || key === 'to' ? new Date(v).toISOString() : v);
            }
          }
          setError(null);
          try {
            setResult(await api<CompareReply>('GET', `/v1/scores/compare?${q}`));
          } catch (err) {
            setResult(null);
            setError((err as Error).message);
          }
        }}
      >
        <div className="cohorts">
          {cohortInputs('a', a, setA)}
          {cohortInputs('b', b, setB)}
        </div>
        <button type="submit" className="primary">
          Compare
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {result && (
        <div className="compare-result" aria-label="Comparison result">
          <p className={`verdict verdict-${result.verdict}`}>
            <strong>{VERDICT[result.verdict]}</strong>
            {result.p_value !== null && <> (p = {result.p_value.toPrecision(3)}, Welch’s t-test)</>}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Cohort</th>
                <th scope="col">Count</th>
                <th scope="col">Mean</th>
                <th scope="col">Std dev</th>
              </tr>
            </thead>
            <tbody>
              {(['a', 'b'] as const).map((s) => (
                <tr key={s}>
                  <td>{s.toUpperCase()}</td>
                  <td className="num">{result[s].count}</td>
                  <td className="num">{fmtNum(result[s].mean)}</td>
                  <td className="num">{fmtNum(result[s].stddev)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p>
            Difference (B − A): <strong>{fmtNum(result.difference)}</strong>
            {result.ci && (
              <>
                {' '}
                · {Math.round(result.confidence * 100)}% confidence interval [{fmtNum(result.ci.low)}, {fmtNum(result.ci.high)}]
              </>
            )}
          </p>
        </div>
      )}
    </section>
  );
}

export function AnalyticsPage() {
  const loc = useLocation();
  // The schemas only: the names with scores come with the facets below.
  const { schemas, names: known, loaded } = useScoreNames({ used: false });
  // With a name in the URL the headline figures need no facet: they are read first, the facets
  // (the pickers' values) once they have answered.
  const [headlineRead, setHeadlineRead] = useState(false);
  const facets = useFacets(loc.query.get('name') !== null && !headlineRead);
  // Names with scores from the facets (a seek per name), not from the statistics of every name.
  const statNames = facets ? facets.score_names.values : null;
  // Names with scores, then names with a schema (no scores yet: an empty view says so).
  const names = statNames === null || !loaded ? statNames : [...new Set([...statNames, ...known])];
  const [stats, setStats] = useState<StatsEntry | null>(null);
  // The name and filters the shown figures were read for: "no scores" only once a read answered.
  const [readFor, setReadFor] = useState<string | null>(null);
  const [reasons, setReasons] = useState<ReasonCounts | null>(null);
  const [byPrompt, setByPrompt] = useState<StatsEntry[]>([]);
  const [byModel, setByModel] = useState<StatsEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const interval = loc.query.get('interval') === 'hour' ? 'hour' : 'day';
  const range = loc.query.get('range');
  // A preset range is measured back from when it was picked (or the page opened), not every render.
  const now = useMemo(() => Date.now(), [range]);
  const filter = pageFilter(loc.query, now);
  const filterKey = JSON.stringify(filter);
  const breakdownBy = loc.query.get('by') ?? 'tag';
  const against = (loc.query.get('against') ?? 'latency_ms') as CorrelationX;
  const name = loc.query.get('name') ?? (names?.includes('default') ? 'default' : names?.[0]) ?? null;
  const labels = name ? labelsOf(schemas.get(name)) : null;
  const labelled = labels !== null;


  useEffect(() => {
    // The schemas say whether the name is labelled (its histogram's buckets): read once, not twice.
    if (!name || !loaded) return;
    setError(null);
    const base = new URLSearchParams([['name', name], ['interval', interval], ...(JSON.parse(filterKey) as [string, string][])]);
    // A labelled name's histogram is one bar per label: 100 one-wide buckets put each value apart.
    const fine = new URLSearchParams(base);
    if (labelled) fine.set('buckets', '100');
    // Replies of an earlier name, interval or bucketing never land over the current ones, and
    // their reads are aborted (the server stops them).
    let live = true;
    const stop = new AbortController();
    const get = <T,>(url: string) => api<T>('GET', url, undefined, stop.signal);
    // The headline figures first: a workspace's reads take turns, so the tables by prompt and by
    // model (and the panels below, drawn once these figures are) wait until they have answered.
    get<StatsResult>(`/v1/scores/stats?${fine}`)
      .then(
        (r) => live && (setStats(r.scores[0] ?? null), setReasons(r.reasons?.find((x) => x.name === name) ?? null), setReadFor(`${name} ${filterKey}`)),
        (e: Error) => live && setError(e.message),
      )
      .then(() => {
        if (!live) return;
        setHeadlineRead(true);
        get<StatsResult>(`/v1/scores/stats?${base}&group_by=prompt`).then((r) => live && setByPrompt(r.scores), () => live && setByPrompt([]));
        get<StatsResult>(`/v1/scores/stats?${base}&group_by=model`).then((r) => live && setByModel(r.scores), () => live && setByModel([]));
      });
    return () => {
      live = false;
      stop.abort();
    };
  }, [name, interval, labelled, filterKey, loaded]);

  const setMany = (changes: Record<string, string | null>) => {
    const q = new URLSearchParams(loc.query);
    for (const [key, value] of Object.entries(changes)) {
      if (value === null) q.delete(key);
      else q.set(key, value);
    }
    navigate(`/analytics?${q}`);
  };
  const set = (key: string, value: string) => setMany({ [key]: value });

  // The summary and histogram are drawn as soon as the figures arrive; the series (hundreds of bars
  // and dots) and the panels below follow in a render of their own that yields to the browser, so
  // the first figures are on screen while the rest is drawn.
  const later = useDeferredValue(stats);
  const series = timeSeries(later?.series ?? [], interval);
  const step = interval === 'hour' ? HOUR_MS : 24 * HOUR_MS;
  const axisFont = { fontSize: 11 };
  const histogram: { label: string; count: number }[] = labels && (stats?.histogram.length ?? 0) === 100 ? labelHistogram(stats!.histogram, labels) : (stats?.histogram ?? []).map((h) => ({ ...h, label: `${h.from}–${h.to}` }));
  return (
    <div className="page">
      <div className="page-head">
        <h1>Analytics</h1>
        <div className="head-actions">
          <label>
            Score name{' '}
            <select value={name ?? ''} onChange={(e) => set('name', e.target.value)} disabled={!names?.length}>
              {(names ?? []).map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          {name && (
            <Link to={`/agreement?${new URLSearchParams([['name', name]])}`} className="button">
              Agreement of {name}
            </Link>
          )}
          <label>
            Interval{' '}
            <select value={interval} onChange={(e) => set('interval', e.target.value)}>
              <option value="day">day</option>
              <option value="hour">hour</option>
            </select>
          </label>
        </div>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {names && names.length > 0 && <FilterBar query={loc.query} facets={facets} set={setMany} />}
      {names && names.length === 0 && <p>No scores yet: score some requests first.</p>}
      {name && !stats && readFor === `${name} ${filterKey}` && <p className="muted">No scores of {name} match these filters.</p>}
      {stats && (
        <>
          <section className="summary card" aria-label="Summary">
            {(
              [
                ['Count', stats.count],
                ['Mean', stats.mean],
                ['Std dev', stats.stddev],
                ['Min', stats.min],
                ['p50', stats.p50],
                ['p90', stats.p90],
                ['Max', stats.max],
              ] as const
            ).map(([label, v]) => (
              <div key={label} className="stat">
                <div className="stat-label">{label}</div>
                <div className="stat-value" data-stat={label}>
                  {fmtNum(v)}
                </div>
              </div>
            ))}
          </section>
          <div className="charts">
            <section className="card" aria-label="Histogram">
              <h2>Histogram of {name}</h2>
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={histogram} margin={{ top: 8, right: 16, bottom: labels ? 36 : 24, left: 8 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  {labels ? (
                    <XAxis dataKey="label" interval={0} height={40} tick={<LabelTick bars={histogram as LabelBar[]} />} label={{ value: `${name}: value and label`, position: 'insideBottom', offset: -24, ...axisFont }} />
                  ) : (
                    <XAxis dataKey="label" fontSize={11} label={{ value: `${name} score`, position: 'insideBottom', offset: -12, ...axisFont }} />
                  )}
                  <YAxis allowDecimals={false} fontSize={11} label={{ value: 'requests', angle: -90, position: 'insideLeft', offset: 4, ...axisFont }} />
                  <Tooltip />
                  <Bar dataKey="count" name="requests" fill="#4f6bd8" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </section>
            <section className="card" aria-label="Over time">
              <h2>Mean and count by {interval}</h2>
              {later ? (
                <ResponsiveContainer width="100%" height={260}>
                  <ComposedChart data={series} margin={{ top: 8, right: 8, bottom: 24, left: 8 }}>
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis
                      dataKey="t"
                      type="number"
                      scale="time"
                      domain={[(min: number) => min - step / 2, (max: number) => max + step / 2]}
                      tickFormatter={(t: number) => fmtBucket(t, interval)}
                      minTickGap={24}
                      fontSize={11}
                      label={{ value: `${interval === 'hour' ? 'hour' : 'day'} (UTC)`, position: 'insideBottom', offset: -12, ...axisFont }}
                    />
                    <YAxis yAxisId="mean" domain={[0, 100]} fontSize={11} label={{ value: `mean ${name}`, angle: -90, position: 'insideLeft', offset: 4, ...axisFont }} />
                    <YAxis yAxisId="count" orientation="right" allowDecimals={false} fontSize={11} label={{ value: 'scored requests', angle: 90, position: 'insideRight', offset: 4, ...axisFont }} />
                    <Tooltip labelFormatter={(t) => fmtBucket(Number(t), interval)} />
                    <Legend verticalAlign="top" height={24} wrapperStyle={{ fontSize: 12 }} formatter={(value: string) => <span className="legend-text">{value}</span>} />
                    <Bar yAxisId="count" dataKey="count" name="scored requests" fill="#aebcf0" maxBarSize={40} isAnimationActive={false} />
                    <Line yAxisId="mean" dataKey="mean" name={`mean ${name}`} stroke="#d8594f" strokeWidth={2} dot connectNulls={false} isAnimationActive={false} />
                  </ComposedChart>
                </ResponsiveContainer>
              ) : (
                <div style={{ height: 260 }} aria-busy="true" />
              )}
            </section>
          </div>
        </>
      )}
      {stats && later && (
        <>
          {reasons && reasons.reasons.length > 0 && <ReasonTable counts={reasons} />}
          <GroupTable title="By prompt version" entries={byPrompt} columns={[['prompt_name', 'Prompt'], ['prompt_version', 'Version']]} />
          <GroupTable title="By model" entries={byModel} columns={[['model', 'Model']]} />
          {name && <BreakdownPanel name={name} filter={filter} facets={facets} by={breakdownBy} setBy={(by) => set('by', by)} />}
          {name && <CorrelationPanel name={name} filter={filter} x={against} setX={(x) => set('against', x)} />}
          {name && <ComparePanel key={name} name={name} facets={facets} filter={filter} />}
        </>
      )}
    </div>
  );
}
