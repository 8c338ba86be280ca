/**
 * Reads a diffusers-style CLIP tokenizer folder (`tokenizer/`, `tokenizer_2/`) the way transformers
 * 5.x `CLIPTokenizer.from_pretrained` does: `vocab.json` + `merges.txt` (required), then the special
 * tokens from `tokenizer_config.json` — its `added_tokens_decoder` when present, otherwise its named
 * tokens overridden by the legacy `special_tokens_map.json` — and `model_max_length`.
 *
 * Not supported: `lstrip` / `rstrip` / `single_word` on added tokens (no Stable Diffusion tokenizer sets
 * them), and folders holding only `tokenizer.json`.
 *
 * @module
 */

import { join } from "node:path";
import type { AddedTokenSpec } from "./added_tokens.ts";
import type { ClipTokenizerConfig } from "./clip_tokenizer.ts";
import { vocabularyFromFiles } from "./vocabulary.ts";

/** The named special tokens, in the order transformers adds them. */
const NAMED_TOKENS = ["bos_token", "eos_token", "unk_token", "pad_token"] as const;
type NamedToken = typeof NAMED_TOKENS[number];

/** `model_max_length` above this is transformers' "no limit" placeholder (1e30): use 77 instead. */
const MAX_SENSIBLE_LENGTH = 1_000_000;

/**
 * Reads the tokenizer settings of a folder, ready for `new ClipTokenizer(config)`.
 *
 * @example
 * ```ts
 * import { readTokenizerFolder } from "./folder.ts";
 * const config = await readTokenizerFolder("models/sd15/tokenizer");
 * config.padToken; // "<|endoftext|>"
 * ```
 */
export async function readTokenizerFolder(dir: string): Promise<ClipTokenizerConfig> {
  const vocabPath = join(dir, "vocab.json");
  const mergesPath = join(dir, "merges.txt");
  const vocabulary = vocabularyFromFiles(
    await readRequired(vocabPath, dir),
    await readRequired(mergesPath, dir),
    { vocab: vocabPath, merges: mergesPath },
  );
  const configPath = join(dir, "tokenizer_config.json");
  const mapPath = join(dir, "special_tokens_map.json");
  const config = await readOptionalJson(configPath);
  const specialMap = await readOptionalJson(mapPath);

  const added: AddedTokenSpec[] = [];
  const named = new Map<NamedToken, AddedTokenSpec>();
  const decoder = config?.added_tokens_decoder;
  if (decoder !== undefined && decoder !== null) {
    if (typeof decoder !== "object" || Array.isArray(decoder)) {
      throw new Error(`${configPath}: added_tokens_decoder must be an object of id → token`);
    }
    for (const [key, value] of Object.entries(decoder as Record<string, unknown>)) {
      const id = Number(key);
      if (!Number.isInteger(id) || id < 0) {
        throw new Error(`${configPath}: added_tokens_decoder key ${key} is not an id`);
      }
      const spec = tokenSpec(value, false, `${configPath}: added_tokens_decoder["${key}"]`);
      if (spec !== undefined) added.push({ ...spec, id });
    }
    for (const name of NAMED_TOKENS) setNamed(named, name, config?.[name], false, configPath);
  } else {
    for (const name of NAMED_TOKENS) setNamed(named, name, config?.[name], false, configPath);
    // The legacy map overrides tokenizer_config.json (SD 2's folders set pad "!" only there).
    for (const name of NAMED_TOKENS) setNamed(named, name, specialMap?.[name], true, mapPath);
  }
  for (const spec of named.values()) {
    if (!added.some((token) => token.content === spec.content)) added.push(spec);
  }
  // transformers marks every named token special (decode skips it).
  const namedContents = new Set([...named.values()].map((spec) => spec.content));
  const resolved = added.map((spec) => namedContents.has(spec.content) ? { ...spec, special: true } : spec);

  const declaredLength = config?.model_max_length;
  let maxLength: number | undefined;
  if (declaredLength !== undefined && declaredLength !== null) {
    if (typeof declaredLength !== "number" || !(declaredLength >= 2)) {
      throw new Error(
        `${configPath}: model_max_length must be a number ≥ 2, got ${JSON.stringify(declaredLength)}`,
      );
    }
    if (declaredLength <= MAX_SENSIBLE_LENGTH) maxLength = Math.floor(declaredLength);
  }
  return {
    vocabulary,
    bosToken: named.get("bos_token")?.content,
    eosToken: named.get("eos_token")?.content,
    unkToken: named.get("unk_token")?.content,
    padToken: named.get("pad_token")?.content,
    addedTokens: resolved,
    maxLength,
  };
}

function setNamed(
  named: Map<NamedToken, AddedTokenSpec>,
  name: NamedToken,
  value: unknown,
  fromSpecialMap: boolean,
  file: string,
): void {
  const spec = tokenSpec(value, fromSpecialMap, `${file}: ${name}`);
  if (spec !== undefined) named.set(name, spec);
}

/**
 * A token value as transformers reads it. A string is a special token matched in the raw text. An
 * object becomes a tokenizers `AddedToken`, whose `normalized` defaults to `!special` at construction:
 * the legacy map builds its tokens as special, `tokenizer_config.json` and `added_tokens_decoder`
 * take `special` from the object (default false).
 */
function tokenSpec(value: unknown, constructedAsSpecial: boolean, where: string): AddedTokenSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") {
    if (value.length === 0) throw new Error(`${where} is an empty string`);
    return { content: value, normalized: false, special: true };
  }
  if (typeof value === "object" && !Array.isArray(value)) {
    const token = value as Record<string, unknown>;
    if (typeof token.content !== "string" || token.content.length === 0) {
      throw new Error(`${where} must have a non-empty string "content"`);
    }
    const special = typeof token.special === "boolean" ? token.special : constructedAsSpecial;
    const normalized = typeof token.normalized === "boolean" ? token.normalized : !special;
    return { content: token.content, normalized, special };
  }
  throw new Error(`${where} must be a string or an object with "content", got ${JSON.stringify(value)}`);
}

async function readRequired(path: string, dir: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`${path} not found: a CLIP tokenizer folder (${dir}) needs vocab.json and merges.txt`);
    }
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
}

async function readOptionalJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: malformed JSON (${(error as Error).message})`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`${path}: expected a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
