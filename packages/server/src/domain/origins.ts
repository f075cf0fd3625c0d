import { invalidField } from './errors.js';

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

/** Checks a list of origins (a setting sent to the API); names the first bad one as `<field>.<i>`. */
export function checkOriginList(origins: readonly string[], field: string): string[] {
  origins.forEach((o, i) => {
    const canonical = canonicalOrigin(o);
    if (canonical === o) return;
    const hint = canonical === null ? '' : `; did you mean ${JSON.stringify(canonical)}?`;
    throw invalidField(`${field}.${i}`, `${JSON.stringify(o)} is not an origin as browsers send it: scheme://host[:port] in lower case, http or https, no path, no trailing slash, no default port${hint}`);
  });
  return [...new Set(origins)];
}
