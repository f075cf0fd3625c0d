/**
 * RFC 4180 CSV: fields holding a comma, a double quote, CR or LF are enclosed in double quotes and
 * their quotes doubled; records end in CRLF. Prompt text is arbitrary, so every field goes through
 * here. (A streaming CSV library would add a dependency for these few lines.)
 */
const NEEDS_QUOTES = /[",\r\n]/;

/**
 * A spreadsheet reads a cell starting with one of these as a formula (`=HYPERLINK(...)`, `+SUM()`,
 * `@cmd`), and some strip a leading tab or CR first. Every text cell is anyone's input, so such a
 * cell is written with a single quote in front, as OWASP's CSV injection guidance advises: the
 * spreadsheet shows the text, and the quote tells a reader the cell was altered.
 */
const FORMULA_LEAD = /^[=+\-@\t\r]/;
/** A number as JSON writes one: never a formula, and JSON cells (a bare `-5`) must stay JSON. */
const PLAIN_NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Whether a cell's text would be read as a formula by a spreadsheet (and so gets a leading `'`). */
export function looksLikeFormula(s: string): boolean {
  return FORMULA_LEAD.test(s) && !PLAIN_NUMBER.test(s);
}

export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'string' ? value : String(value);
  if (typeof value === 'string' && looksLikeFormula(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvRecord(fields: (string | number | null | undefined)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}
