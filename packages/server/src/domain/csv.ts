/**
 * RFC 4180 CSV: fields holding a comma, a double quote, CR or LF are enclosed in double quotes and
 * their quotes doubled; records end in CRLF. Prompt text is arbitrary, so every field goes through
 * here. (A streaming CSV library would add a dependency for these few lines.)
 */
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : String(value);
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvRecord(fields: (string | number | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
