import type { ApiKeyItem, Member } from './api.js';

export const fmtTime = (iso: string): string => {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

export const fmtLatency = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
export const fmtCost = (price: number): string => (price === 0 ? '$0' : price < 0.01 ? `$${price.toFixed(5)}` : `$${price.toFixed(4)}`);
export const fmtNum = (n: number | null | undefined, digits = 2): string => (n === null || n === undefined ? '–' : Number.isInteger(n) ? String(n) : n.toFixed(digits));

/** `user:3` becomes the member's email, `key:5` the key's label, for the history table. */
export function actorLabel(actor: string, members: Member[], keys: ApiKeyItem[]): string {
  const [kind, id] = actor.split(':');
  if (kind === 'user') {
    const m = members.find((x) => String(x.id) === id);
    return m ? m.email : actor;
  }
  if (kind === 'key') {
    const k = keys.find((x) => String(x.id) === id);
    return k ? `API key ${k.prefix}…${k.label ? ` (${k.label})` : ''}` : `API key #${id}`;
  }
  return actor;
}
