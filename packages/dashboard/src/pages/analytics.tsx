import { useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, ComposedChart, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, type CompareReply, type StatsEntry } from '../api.js';
import { fmtNum } from '../format.js';
import { navigate, useLocation } from '../router.js';

interface StatsReply {
  scores: StatsEntry[];
}

const COHORT_FIELDS = [
  ['prompt_name', 'Prompt name', 'text'],
  ['prompt_version', 'Prompt version', 'number'],
  ['model', 'Model', 'text'],
  ['tag', 'Tag', 'text'],
  ['from', 'From', 'datetime-local'],
  ['to', 'To', 'datetime-local'],
] as const;

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

function ComparePanel({ name }: { name: string }) {
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
          <input name={`${side}.${key}`} type={type} value={c[key]} onChange={(e) => set({ ...c, [key]: e.target.value })} />
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
          const q = new URLSearchParams([['name', name]]);
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
  const [names, setNames] = useState<string[] | null>(null);
  const [stats, setStats] = useState<StatsEntry | null>(null);
  const [byPrompt, setByPrompt] = useState<StatsEntry[]>([]);
  const [byModel, setByModel] = useState<StatsEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const interval = loc.query.get('interval') === 'hour' ? 'hour' : 'day';
  const name = loc.query.get('name') ?? (names?.includes('default') ? 'default' : names?.[0]) ?? null;

  useEffect(() => {
    api<StatsReply>('GET', '/v1/scores/stats').then(
      (r) => setNames([...new Set(r.scores.map((s) => s.name))]),
      (e: Error) => (setError(e.message), setNames([])),
    );
  }, []);

  useEffect(() => {
    if (!name) return;
    setError(null);
    const base = new URLSearchParams([['name', name], ['interval', interval]]);
    api<StatsReply>('GET', `/v1/scores/stats?${base}`).then((r) => setStats(r.scores[0] ?? null), (e: Error) => setError(e.message));
    api<StatsReply>('GET', `/v1/scores/stats?${base}&group_by=prompt`).then((r) => setByPrompt(r.scores), () => setByPrompt([]));
    api<StatsReply>('GET', `/v1/scores/stats?${base}&group_by=model`).then((r) => setByModel(r.scores), () => setByModel([]));
  }, [name, interval]);

  const set = (key: string, value: string) => {
    const q = new URLSearchParams(loc.query);
    q.set(key, value);
    navigate(`/analytics?${q}`);
  };

  const series = (stats?.series ?? []).map((p) => ({ ...p, label: interval === 'hour' ? p.start.slice(0, 13).replace('T', ' ') + ':00' : p.start.slice(0, 10), mean: Math.round(p.mean * 100) / 100 }));
  const histogram = (stats?.histogram ?? []).map((h) => ({ ...h, label: `${h.from}–${h.to}` }));
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
      {names && names.length === 0 && <p>No scores yet: score some requests first.</p>}
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
                <BarChart data={histogram} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" fontSize={11} />
                  <YAxis allowDecimals={false} fontSize={11} />
                  <Tooltip />
                  <Bar dataKey="count" name="requests" fill="#4f6bd8" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </section>
            <section className="card" aria-label="Over time">
              <h2>Mean and count by {interval}</h2>
              <ResponsiveContainer width="100%" height={260}>
                <ComposedChart data={series} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="label" fontSize={11} />
                  <YAxis yAxisId="mean" domain={[0, 100]} fontSize={11} />
                  <YAxis yAxisId="count" orientation="right" allowDecimals={false} fontSize={11} />
                  <Tooltip />
                  <Bar yAxisId="count" dataKey="count" name="count" fill="#c9d3f5" isAnimationActive={false} />
                  <Line yAxisId="mean" dataKey="mean" name="mean" stroke="#d8594f" strokeWidth={2} dot isAnimationActive={false} />
                </ComposedChart>
              </ResponsiveContainer>
            </section>
          </div>
          <GroupTable title="By prompt version" entries={byPrompt} columns={[['prompt_name', 'Prompt'], ['prompt_version', 'Version']]} />
          <GroupTable title="By model" entries={byModel} columns={[['model', 'Model']]} />
          {name && <ComparePanel key={name} name={name} />}
        </>
      )}
    </div>
  );
}
