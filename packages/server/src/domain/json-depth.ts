/**
 * Finds JSON text nested deeper than a limit, without parsing it and without recursion, so a
 * hostile document of any depth costs one pass over its characters and no stack.
 *
 * Returns null when the text stays within `maxDepth` levels of `[`/`{`; otherwise the field to
 * blame: the top-level key under which the limit was passed (`input`), or `body` when the top
 * level itself is an array or the key cannot be read. Malformed text is not judged here (the
 * parser refuses it next): the scan only counts brackets outside strings.
 */
export function findExcessiveNesting(text: string, maxDepth: number): string | null {
  // Valid JSON deeper than maxDepth has more than 2 * maxDepth brackets.
  if (text.length <= 2 * maxDepth) return null;
  let depth = 0;
  let topIsObject = false;
  // The last string that ended at depth 1, and where the key is that a ':' made of it (decoded
  // only if the limit is passed: decoding every key doubled the cost of a small body's scan).
  let lastStringStart = -1;
  let lastStringEnd = -1;
  let keyStart = -1;
  let keyEnd = -1;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Jump to the closing quote: one that is not escaped by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j === -1) return null;
        let slashes = 0;
        while (text.charCodeAt(j - 1 - slashes) === 0x5c /* \ */) slashes++;
        if (slashes % 2 === 0) break;
      }
      if (depth === 1) {
        lastStringStart = i;
        lastStringEnd = j;
      }
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === 0) topIsObject = c === 0x7b;
      depth++;
      if (depth > maxDepth) return topIsObject ? decodeKey(text, keyStart, keyEnd) : 'body';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x3a /* : */ && depth === 1) {
      keyStart = lastStringStart;
      keyEnd = lastStringEnd;
    }
  }
  return null;
}

function decodeKey(text: string, start: number, end: number): string {
  if (start < 0 || end <= start) return 'body';
  try {
    const key = JSON.parse(text.slice(start, end + 1)) as unknown;
    return typeof key === 'string' ? key : 'body';
  } catch {
    return 'body';
  }
}
