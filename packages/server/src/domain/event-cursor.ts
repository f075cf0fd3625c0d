import { invalidField } from './errors.js';

// A version prefix lets the cursor's content change later without breaking clients that kept one.
const PREFIX = 'se1:';

/**
 * The opaque cursor of the score-event feed: the id of the last event a client has seen, in
 * base64url so that clients treat it as a token rather than a number to do arithmetic on.
 */
export function encodeEventCursor(lastEventId: number): string {
  return Buffer.from(`${PREFIX}${lastEventId}`, 'utf8').toString('base64url');
}

/** Reads a cursor made by `encodeEventCursor`; anything else is a 400 naming the field. */
export function decodeEventCursor(cursor: string, field = 'after'): number {
  const text = /^[A-Za-z0-9_-]{1,64}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^se1:(0|[1-9][0-9]{0,15})$/.exec(text);
  const id = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(id)) throw invalidField(field, 'is not a valid cursor (use next_cursor from a previous page)');
  return id;
}
