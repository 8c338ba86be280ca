/**
 * The standard CLIP vocabulary bundled with the package, for single-file checkpoints (which carry no
 * tokenizer). It is OpenAI's `bpe_simple_vocab_16e6.txt.gz` as shipped in open-clip-torch 3.3.0 (MIT;
 * see `vocab/LICENSE-open_clip.txt`); the 49,408-token vocabulary is rebuilt from it on first use and
 * kept for the life of the process. Run from a local checkout it is read from disk (`--allow-read`);
 * imported from a registry it is fetched next to this module (`--allow-net` for that host).
 *
 * @module
 */

import { Gunzip } from "fflate";
import { concatBytes } from "./concat_bytes.ts";
import { type ClipVocabulary, STANDARD_MERGE_COUNT, vocabularyFromMergeList } from "./vocabulary.ts";

const BUNDLED_FILE = "bpe_simple_vocab_16e6.txt.gz";
const BUNDLED_URL: URL = new URL(`./vocab/${BUNDLED_FILE}`, import.meta.url);

let cached: Promise<ClipVocabulary> | undefined;

/**
 * Loads the bundled standard CLIP vocabulary (49,408 tokens, 48,894 merges). The first call reads and
 * decompresses the file; later calls return the same object.
 *
 * @example
 * ```ts
 * import { loadBundledVocabulary } from "./bundled_vocabulary.ts";
 * const vocab = await loadBundledVocabulary();
 * vocab.ids.get("<|endoftext|>"); // 49407
 * ```
 */
export function loadBundledVocabulary(): Promise<ClipVocabulary> {
  if (cached === undefined) {
    cached = readBundledVocabulary().catch((error) => {
      cached = undefined; // let a later call retry (e.g. after a permission prompt)
      throw error;
    });
  }
  return cached;
}

/**
 * Reads and builds the bundled vocabulary afresh, bypassing the per-process cache (for benchmarks and
 * tests; everything else should use {@linkcode loadBundledVocabulary}).
 *
 * @example
 * ```ts
 * import { readBundledVocabulary } from "./bundled_vocabulary.ts";
 * const vocab = await readBundledVocabulary();
 * vocab.tokens.length; // 49408
 * ```
 */
export async function readBundledVocabulary(): Promise<ClipVocabulary> {
  let compressed: Uint8Array;
  try {
    compressed = BUNDLED_URL.protocol === "file:"
      ? await Deno.readFile(BUNDLED_URL)
      : new Uint8Array(await (await fetch(BUNDLED_URL)).arrayBuffer());
  } catch (error) {
    throw new Error(
      `cannot read the bundled CLIP vocabulary ${BUNDLED_URL.href}: ${(error as Error).message}`,
    );
  }
  const text = decompressHead(compressed, STANDARD_MERGE_COUNT + 1);
  return vocabularyFromMergeList(text, BUNDLED_FILE);
}

/**
 * Inflates only as much of the gzip stream as the first `lineCount` lines need: the file holds 262,145
 * lines of which CLIP uses 48,895, so this skips most of the work.
 */
function decompressHead(compressed: Uint8Array, lineCount: number): string {
  const chunks: Uint8Array[] = [];
  let newlines = 0;
  let done = false;
  const inflater = new Gunzip((chunk) => {
    if (done) return;
    chunks.push(chunk);
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a && ++newlines >= lineCount) done = true;
  });
  const step = 64 * 1024;
  for (let offset = 0; offset < compressed.length && !done; offset += step) {
    const end = Math.min(offset + step, compressed.length);
    inflater.push(compressed.subarray(offset, end), end === compressed.length);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}
