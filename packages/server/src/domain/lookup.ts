/**
 * `table[key]` for a key that came from a client: only the table's own entries count, so names
 * like `constructor`, `toString` or `__proto__` are unknown keys, not Object.prototype's members.
 */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
