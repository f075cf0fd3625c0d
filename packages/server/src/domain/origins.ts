/**
 * The origin as a browser sends it in the `Origin` header (`scheme://host[:port]`, lower case, no
 * default port, no path), or null when the text is not an http(s) URL. Origins are compared as exact
 * strings, so a setting that differs from this form would never match any browser.
 */
export function canonicalOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
}
