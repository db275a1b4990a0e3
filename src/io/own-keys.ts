// Looking up a name read from a file (a layer type, a loss, a metric, a monitored log) in a registry
// object: only the object's own keys count. Plain `table[name]` finds Object.prototype's members for
// "constructor", "__proto__", "toString" …, which then pass for a registered entry.

/** `table[key]` if `key` is one of the table's own keys, else undefined. */
export function ownValue<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
