/**
 * A second pass over JSON text that `JSON.parse` has already accepted, for what `JSON.parse` hides:
 * duplicate object keys (it silently keeps the last) and the spelling of numbers (`4.0`, `4e0` and `-0`
 * all parse to an integer, but the safetensors reference rejects them where it expects a `usize`).
 *
 * @module
 */

/** What {@linkcode findJsonProblem} found: a human-readable description, or `undefined` when all is well. */
export type JsonProblem = string | undefined;

interface Frame {
  /** Keys seen so far in this object; `null` for an array. */
  keys: Set<string> | null;
  /** The key whose value is being read (objects only). */
  key: string;
  /** Whether numbers directly inside this array must be spelled as plain unsigned integers. */
  integersOnly: boolean;
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isNumberChar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;

/**
 * Scans JSON text that `JSON.parse` accepted and reports the first duplicate key in any object, or the
 * first number inside an array valued by one of `integerArrayKeys` that is not written as a plain
 * unsigned integer (digits only). Runs in one linear pass; the text must be valid JSON.
 *
 * @example
 * ```ts
 * import { findJsonProblem } from "./json_scan.ts";
 * findJsonProblem('{"a":1,"a":2}', new Set()); // 'duplicate key "a"'
 * findJsonProblem('{"shape":[2.0]}', new Set(["shape"])); // '2.0 in "shape" is not written as an unsigned integer'
 * findJsonProblem('{"shape":[2]}', new Set(["shape"])); // undefined
 * ```
 */
export function findJsonProblem(json: string, integerArrayKeys: ReadonlySet<string>): JsonProblem {
  const stack: Frame[] = [];
  const where = (): string => {
    const path = stack.slice(0, -1).map((f) => f.keys ? JSON.stringify(f.key) : "[]");
    return path.length ? ` in ${path.join(" › ")}` : "";
  };
  const n = json.length;
  let i = 0;
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1, escaped = false;
      for (;;) {
        const d = json.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else if (d === 0x22 || j >= n) break;
        else j++;
      }
      const start = i;
      i = j + 1;
      let k = i;
      while (k < n && isSpace(json.charCodeAt(k))) k++;
      const top = stack[stack.length - 1];
      if (json.charCodeAt(k) === 0x3a && top?.keys) {
        const key: string = escaped ? JSON.parse(json.slice(start, i)) : json.slice(start + 1, i - 1);
        if (top.keys.has(key)) return `duplicate key ${JSON.stringify(key)}${where()}`;
        top.keys.add(key);
        top.key = key;
        i = k + 1;
      }
    } else if (c === 0x7b) {
      stack.push({ keys: new Set(), key: "", integersOnly: false });
      i++;
    } else if (c === 0x5b) {
      const top = stack[stack.length - 1];
      const integersOnly = top?.keys != null && integerArrayKeys.has(top.key);
      stack.push({ keys: null, key: "", integersOnly });
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i;
      while (j < n && isNumberChar(json.charCodeAt(j))) j++;
      const top = stack[stack.length - 1];
      if (top?.integersOnly) {
        for (let k = i; k < j; k++) {
          const d = json.charCodeAt(k);
          if (d < 0x30 || d > 0x39) {
            const owner = stack[stack.length - 2];
            return `${json.slice(i, j)} in ${JSON.stringify(owner.key)}${
              stack.length > 2 ? ` of ${JSON.stringify(stack[stack.length - 3].key)}` : ""
            } is not written as an unsigned integer`;
          }
        }
      }
      i = j;
    } else i++;
  }
  return undefined;
}
