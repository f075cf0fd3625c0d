/**
 * What a webhook in `slack` format receives instead of Tally's JSON: a Slack incoming-webhook
 * message `{ text, blocks }`, readable in a channel. `text` alone says everything (it is what
 * notifications show); `blocks` lay it out.
 */
import type { EventEnvelope } from './payloads.js';

export interface SlackMessage {
  text: string;
  blocks: unknown[];
}

const fmt = (v: unknown, digits = 1) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(digits)) : '–');
// Slack's mrkdwn reads &, < and > as markup.
const esc = (s: unknown) => String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function alertText(e: EventEnvelope): { text: string; link: string | null } {
  const d = e.data as Record<string, unknown>;
  const alert = (d.alert ?? {}) as Record<string, unknown>;
  const share = alert.kind === 'share';
  const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : '–');
  const show = share ? pct : (v: unknown) => fmt(v);
  const what = share ? `share of "${esc(alert.score_name)}" = ${esc(alert.value)}` : `mean of "${esc(alert.score_name)}"`;
  const conf = typeof alert.confidence === 'number' ? `${Math.round(alert.confidence * 100)}%` : '';
  const figures = `${what} is ${show(d.value)} (${conf} interval ${show(d.low)} to ${show(d.high)}, ${fmt(d.count)} scores over the last ${esc(alert.window)})`;
  const fired = e.type === 'alert.fired';
  const text = fired
    ? `:rotating_light: Alert "${esc(alert.name)}" fired: ${figures}, ${esc(alert.direction)} the threshold ${show(alert.threshold)}.`
    : `:white_check_mark: Alert "${esc(alert.name)}" resolved: ${figures}, back on the good side of ${show(alert.threshold)}.`;
  return { text, link: typeof d.request_log_url === 'string' ? d.request_log_url : null };
}

function scoreText(e: EventEnvelope): string {
  const d = e.data;
  const who = `${esc(d.actor)} (${esc(d.source)})`;
  if (e.type === 'score.deleted') return `Score "${esc(d.name)}" of request ${fmt(d.request_id)} deleted (was ${fmt(d.old_value)}) by ${who}.`;
  if (e.type === 'score.created') return `Request ${fmt(d.request_id)} scored "${esc(d.name)}" = ${fmt(d.new_value)} by ${who}.`;
  return `Score "${esc(d.name)}" of request ${fmt(d.request_id)} changed ${fmt(d.old_value)} → ${fmt(d.new_value)} by ${who}.`;
}

export function slackMessage(e: EventEnvelope): SlackMessage {
  let text: string;
  let link: string | null = null;
  if (e.type.startsWith('alert.')) ({ text, link } = alertText(e));
  else if (e.type.startsWith('score.')) text = scoreText(e);
  else if (e.type === 'request.logged') text = `Request ${fmt(e.data.request_id)} logged: ${esc(e.data.provider)} ${esc(e.data.model)}, ${esc(e.data.status)}.`;
  else text = `Tally test event for workspace "${esc(e.workspace.name)}": this webhook is reachable.`;
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  // Slack links only absolute URLs; without --public-url the path is shown as text.
  if (link !== null) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: /^https?:\/\//.test(link) ? `<${link}|Open the filtered request log>` : `Request log: ${esc(link)}` }] });
  return { text: link !== null && /^https?:\/\//.test(link) ? `${text} <${link}|Requests>` : text, blocks };
}
