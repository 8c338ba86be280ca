/**
 * The CLIP BPE vocabulary: token strings with their ids, and the merge rules in rank order. Built
 * either from OpenAI's merge list (`bpe_simple_vocab_16e6.txt`, where the ids follow from the order of
 * the merges) or from Hugging Face's `vocab.json` + `merges.txt`; both give the same 49,408 tokens.
 *
 * @module
 */

import { BYTE_SYMBOLS_IN_VOCAB_ORDER } from "./byte_level.ts";

/** Marks the last symbol of a word in CLIP's BPE (`"cat</w>"` is the whole word "cat"). */
export const END_OF_WORD = "</w>";
/** The start-of-text token (BOS), id 49406 in the standard vocabulary. */
export const START_OF_TEXT = "<|startoftext|>";
/** The end-of-text token (EOS), id 49407 in the standard vocabulary. */
export const END_OF_TEXT = "<|endoftext|>";

/** Size of the standard CLIP vocabulary. */
export const STANDARD_VOCAB_SIZE = 49408;
/** Merges of OpenAI's list that the standard vocabulary uses: `merges[1 : 49152-256-2+1]`. */
export const STANDARD_MERGE_COUNT: number = 49152 - 256 - 2;

/** Token strings and ids plus merge rules of a CLIP BPE tokenizer. */
export interface ClipVocabulary {
  /** Token string of each id (index = id). Ids missing from a `vocab.json` are `undefined` holes. */
  readonly tokens: readonly string[];
  /** Id of each token string. */
  readonly ids: ReadonlyMap<string, number>;
  /** Merge rules in rank order (lowest rank merges first), each as `[left, right]`. */
  readonly merges: readonly (readonly [string, string])[];
  /** Id of the token each merge makes (`left + right`), by rank. */
  readonly mergeIds: Int32Array;
}

/**
 * Builds the standard vocabulary from the text of OpenAI's `bpe_simple_vocab_16e6.txt`: 256 byte
 * symbols, the same with `</w>`, the merged tokens in merge order, then `<|startoftext|>` and
 * `<|endoftext|>` (49,408 tokens). The first line of the file is a header; only the first 48,894 merges
 * after it are used.
 *
 * @param text The decompressed merge list.
 * @param source Names the source in error messages.
 * @example
 * ```ts
 * import { vocabularyFromMergeList } from "./vocabulary.ts";
 * const lines = ["#version: 0.2", "i n", "t h"];
 * const vocab = vocabularyFromMergeList(lines.join("\n"), "tiny list", 2);
 * vocab.ids.get("in"); // 512
 * ```
 */
export function vocabularyFromMergeList(
  text: string,
  source: string,
  mergeCount: number = STANDARD_MERGE_COUNT,
): ClipVocabulary {
  const headerEnd = text.indexOf("\n");
  if (headerEnd < 0) throw new Error(`${source}: expected a header line followed by merges`);
  let bodyEnd = headerEnd;
  for (let i = 0; i < mergeCount; i++) {
    if (bodyEnd + 1 >= text.length) {
      throw new Error(`${source}: has ${i} merges after its header, ${mergeCount} are needed`);
    }
    const next = text.indexOf("\n", bodyEnd + 1);
    bodyEnd = next < 0 ? text.length : next;
  }
  const body = text.slice(headerEnd + 1, bodyEnd).replaceAll("\r", "");
  const lines = body.split("\n");
  // Removing the spaces from the whole block at once yields every merged token as a slice of one flat
  // string, which is much cheaper to hash into the id map than 48,894 concatenations.
  const mergedTokens = body.replaceAll(" ", "").split("\n");
  const merges: [string, string][] = new Array(mergeCount);
  for (let i = 0; i < mergeCount; i++) merges[i] = parseMergeLine(lines[i], source, i + 2);

  const tokens: string[] = [...BYTE_SYMBOLS_IN_VOCAB_ORDER];
  for (const symbol of BYTE_SYMBOLS_IN_VOCAB_ORDER) tokens.push(symbol + END_OF_WORD);
  const firstMergeId = tokens.length;
  for (const token of mergedTokens) tokens.push(token);
  tokens.push(START_OF_TEXT, END_OF_TEXT);
  const ids = new Map<string, number>();
  for (let id = 0; id < tokens.length; id++) ids.set(tokens[id], id);
  if (ids.size !== tokens.length) {
    const twice = tokens.find((token, id) => ids.get(token) !== id)!;
    throw new Error(`${source}: token ${JSON.stringify(twice)} occurs twice`);
  }
  const mergeIds = new Int32Array(mergeCount);
  for (let i = 0; i < mergeCount; i++) mergeIds[i] = firstMergeId + i;
  return { tokens, ids, merges, mergeIds };
}

function parseMergeLine(line: string, source: string, lineNumber: number): [string, string] {
  const space = line.indexOf(" ");
  const left = line.slice(0, space);
  const right = line.slice(space + 1).trimEnd(); // tolerate CRLF files
  if (space <= 0 || right.length === 0 || right.includes(" ")) {
    throw new Error(`${source} line ${lineNumber}: expected "left right", got ${JSON.stringify(line)}`);
  }
  return [left, right];
}

/**
 * Builds a vocabulary from the texts of Hugging Face's `vocab.json` (token → id) and `merges.txt`
 * (optional `#version` header, then one `left right` merge per line in rank order). Checks that ids are
 * unique non-negative integers and that every merge produces a token of the vocabulary.
 *
 * @param vocabJson Text of `vocab.json`.
 * @param mergesTxt Text of `merges.txt`.
 * @param names File names for error messages.
 * @example
 * ```ts
 * import { vocabularyFromFiles } from "./vocabulary.ts";
 * const vocab = vocabularyFromFiles('{"a":0,"b":1,"ab":2}', "#version: 0.2\na b\n");
 * vocab.merges; // [["a", "b"]]
 * ```
 */
export function vocabularyFromFiles(
  vocabJson: string,
  mergesTxt: string,
  names: { vocab: string; merges: string } = { vocab: "vocab.json", merges: "merges.txt" },
): ClipVocabulary {
  let parsed: unknown;
  try {
    parsed = JSON.parse(vocabJson);
  } catch (error) {
    throw new Error(`${names.vocab}: malformed JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`${names.vocab}: expected a JSON object mapping token strings to ids`);
  }
  const ids = new Map<string, number>();
  const tokens: string[] = [];
  for (const [token, id] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new Error(
        `${names.vocab}: id of ${JSON.stringify(token)} is ${JSON.stringify(id)}, not an integer id`,
      );
    }
    if (tokens[id] !== undefined) {
      throw new Error(
        `${names.vocab}: id ${id} is given to both ${JSON.stringify(tokens[id])} and ${
          JSON.stringify(token)
        }`,
      );
    }
    tokens[id] = token;
    ids.set(token, id);
  }
  if (ids.size === 0) throw new Error(`${names.vocab}: the vocabulary is empty`);

  const merges: [string, string][] = [];
  const mergeIds: number[] = [];
  const lines = mergesTxt.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const merge = parseMergeLine(line, names.merges, i + 1);
    const mergeId = ids.get(merge[0] + merge[1]);
    if (mergeId === undefined) {
      throw new Error(
        `${names.merges} line ${i + 1}: merge ${JSON.stringify(line)} makes ${
          JSON.stringify(merge[0] + merge[1])
        }, which ${names.vocab} lacks`,
      );
    }
    merges.push(merge);
    mergeIds.push(mergeId);
  }
  return { tokens, ids, merges, mergeIds: Int32Array.from(mergeIds) };
}

/**
 * Serializes a vocabulary as the text of a Hugging Face `vocab.json`, keys in id order. (Written by
 * hand: a JavaScript object would list integer-like keys such as `"1"` first.)
 *
 * @example
 * ```ts
 * import { vocabularyToJson, vocabularyFromFiles } from "./vocabulary.ts";
 * const vocab = vocabularyFromFiles('{"b":1,"a":0}', "");
 * vocabularyToJson(vocab); // '{"a":0,"b":1}'
 * ```
 */
export function vocabularyToJson(vocabulary: ClipVocabulary): string {
  const parts: string[] = [];
  vocabulary.tokens.forEach((token, id) => parts.push(`${JSON.stringify(token)}:${id}`));
  return `{${parts.join(",")}}`;
}

/**
 * Serializes the merge rules as the text of a Hugging Face `merges.txt` (with `#version: 0.2` header).
 *
 * @example
 * ```ts
 * import { mergesToText, vocabularyFromFiles } from "./vocabulary.ts";
 * mergesToText(vocabularyFromFiles('{"a":0,"b":1,"ab":2}', "a b")); // "#version: 0.2\na b\n"
 * ```
 */
export function mergesToText(vocabulary: ClipVocabulary): string {
  return `#version: 0.2\n${vocabulary.merges.map(([left, right]) => `${left} ${right}\n`).join("")}`;
}
