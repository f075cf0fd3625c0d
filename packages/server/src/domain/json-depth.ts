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
  // Fewer characters than levels: cannot be too deep.
  if (text.length <= maxDepth) return null;
  let depth = 0;
  let topIsObject = false;
  // The last string that ended at depth 1, and the key it became when a ':' followed it.
  let lastStringStart = -1;
  let lastStringEnd = -1;
  let topKey: string | null = null;
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
      if (depth > maxDepth) return topIsObject && topKey !== null ? topKey : 'body';
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x3a /* : */ && depth === 1 && lastStringEnd > lastStringStart) {
      try {
        const key = JSON.parse(text.slice(lastStringStart, lastStringEnd + 1)) as unknown;
        topKey = typeof key === 'string' ? key : null;
      } catch {
        topKey = null;
      }
    }
  }
  return null;
}
