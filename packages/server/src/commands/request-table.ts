import type { Static } from '@sinclair/typebox';
import type { RequestSummary } from '../schemas/search.js';

export type RequestRow = Static<typeof RequestSummary>;

// Logged names, tags and metadata are untrusted text: control characters (terminal escapes,
// newlines) would let a logged request repaint the reader's terminal or break the table.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function cell(text: string, max: number): string {
  const clean = text.replace(CONTROL, '?');
  const chars = [...clean];
  return chars.length <= max ? clean : `${chars.slice(0, max - 1).join('')}…`;
}

const time = (iso: string) => iso.slice(0, 19).replace('T', ' ');
const cost = (usd: number) => `$${Number(usd.toFixed(6))}`;
const latency = (ms: number) => `${Math.round(ms)} ms`;
const prompt = (r: RequestRow) => (r.prompt_name === null ? '-' : `${r.prompt_name}${r.prompt_version === null ? '' : `@${r.prompt_version}`}`);
const scores = (s: Record<string, number>) => Object.entries(s).map(([name, v]) => `${name}=${v}`).join(' ') || '-';

interface Column {
  title: string;
  max: number;
  right?: boolean;
  get(r: RequestRow): string;
}

const COLUMNS: Column[] = [
  { title: 'ID', max: 20, right: true, get: (r) => String(r.id) },
  { title: 'TIME (UTC)', max: 19, get: (r) => time(r.request_start_time) },
  { title: 'PROVIDER/MODEL', max: 40, get: (r) => `${r.provider}/${r.model}` },
  { title: 'PROMPT', max: 30, get: prompt },
  { title: 'LATENCY', max: 14, right: true, get: (r) => latency(r.latency_ms) },
  { title: 'COST', max: 14, right: true, get: (r) => cost(r.price) },
  { title: 'TAGS', max: 30, get: (r) => (r.tags.length === 0 ? '-' : r.tags.join(',')) },
  { title: 'SCORES', max: 60, get: (r) => scores(r.scores) },
];

/**
 * Requests as an aligned, human-readable table (one line per request, long cells cut with `…`).
 * For scripts, `--json` prints the wire objects instead.
 */
export function requestTable(rows: RequestRow[]): string {
  const cells = rows.map((r) => COLUMNS.map((c) => cell(c.get(r), c.max)));
  const widths = COLUMNS.map((c, i) => Math.max(c.title.length, ...cells.map((row) => [...row[i]!].length)));
  const pad = (text: string, i: number) => {
    const fill = ' '.repeat(widths[i]! - [...text].length);
    return COLUMNS[i]!.right ? fill + text : text + fill;
  };
  const line = (values: string[]) => values.map(pad).join('  ').trimEnd();
  return [line(COLUMNS.map((c) => c.title)), ...cells.map(line)].join('\n');
}
