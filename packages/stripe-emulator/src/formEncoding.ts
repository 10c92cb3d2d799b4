/**
 * Stripe's request encoding: `application/x-www-form-urlencoded` with bracket notation for nesting,
 * as the official SDK writes it. `items[0][price]=p&items[0][quantity]=2&expand[]=customer` becomes
 * `{ items: [{ price: "p", quantity: "2" }], expand: ["customer"] }`. Values stay strings; the
 * reader of each parameter decides its type, as Stripe does.
 */
export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

/** Keys that would reach Object.prototype: such a pair is dropped. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export class FormEncodingError extends Error {}

export function parseForm(body: string): FormObject {
  const root: FormObject = {};
  for (const pair of body.split("&")) {
    if (pair === "") continue;
    const separator = pair.indexOf("=");
    const rawKey = separator === -1 ? pair : pair.slice(0, separator);
    const rawValue = separator === -1 ? "" : pair.slice(separator + 1);
    const path = splitKey(decode(rawKey));
    if (path.some((segment) => UNSAFE_KEYS.has(segment))) continue;
    assign({ container: root, path, value: decode(rawValue) });
  }
  return arraysFromIndexes(root) as FormObject;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    throw new FormEncodingError(`Invalid percent-encoding in request: ${text.slice(0, 40)}`);
  }
}

/** `a[b][0][]` → ["a", "b", "0", ""]; a key that is not valid bracket notation is taken literally. */
function splitKey(key: string): string[] {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!match?.[1]) return [key];
  const segments = [match[1]];
  for (const [, segment] of (match[2] ?? "").matchAll(/\[([^[\]]*)\]/g)) segments.push(segment ?? "");
  return segments;
}

function assign({ container, path, value }: { container: FormObject; path: string[]; value: string }): void {
  let node = container;
  for (const [index, rawSegment] of path.entries()) {
    // `[]` appends: the next free position of the object that becomes an array.
    const segment = rawSegment === "" ? String(Object.keys(node).length) : rawSegment;
    if (index === path.length - 1) {
      node[segment] = value;
      return;
    }
    const child = node[segment];
    if (child === undefined || typeof child === "string" || Array.isArray(child)) {
      const created: FormObject = {};
      node[segment] = created;
      node = created;
    } else {
      node = child;
    }
  }
}

/**
 * Objects whose keys are all array indexes become arrays, in index order (gaps closed), so
 * `items[0]`, `items[1]` read as a list. Metadata keeps its keys even when they look like numbers.
 */
function arraysFromIndexes(value: FormValue, key = ""): FormValue {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, arraysFromIndexes(v, k)] as const);
  const indexed =
    entries.length > 0 && key !== "metadata" && entries.every(([k]) => /^(0|[1-9]\d{0,3})$/.test(k));
  if (indexed) {
    return entries.sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  }
  return Object.fromEntries(entries);
}
