/**
 * RFC 4180 CSV: fields holding a comma, a double quote, CR or LF are enclosed in double quotes and
 * their quotes doubled; records end in CRLF. Prompt text is arbitrary, so every field goes through
 * here. (A streaming CSV library would add a dependency for these few lines.)
 */
export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRecord(fields: (string | number | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
