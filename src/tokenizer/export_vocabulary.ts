/**
 * Writes a vocabulary as a Hugging Face tokenizer folder (`vocab.json` + `merges.txt`), e.g. to give a
 * single-file checkpoint converted to diffusers layout its `tokenizer/` folder.
 *
 * @module
 */

import { join } from "node:path";
import { type ClipVocabulary, mergesToText, vocabularyToJson } from "./vocabulary.ts";

/** Options of {@linkcode exportVocabulary}. */
export interface ExportVocabularyOptions {
  /** Replace existing `vocab.json` / `merges.txt` (default false: an existing file is an error). */
  overwrite?: boolean;
}

/**
 * Writes `vocab.json` (keys in id order) and `merges.txt` into `dir` (created if missing). Each file is
 * written to a temporary name and renamed into place.
 *
 * @example
 * ```ts
 * import { exportVocabulary } from "./export_vocabulary.ts";
 * import { loadBundledVocabulary } from "./bundled_vocabulary.ts";
 * await exportVocabulary(await loadBundledVocabulary(), "out/tokenizer");
 * ```
 */
export async function exportVocabulary(
  vocabulary: ClipVocabulary,
  dir: string,
  options: ExportVocabularyOptions = {},
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const files: [string, string][] = [
    ["vocab.json", vocabularyToJson(vocabulary)],
    ["merges.txt", mergesToText(vocabulary)],
  ];
  for (const [name, text] of files) {
    const path = join(dir, name);
    if (!options.overwrite && await exists(path)) {
      throw new Error(`${path} already exists (pass overwrite: true to replace it)`);
    }
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      await Deno.writeTextFile(temporary, text);
      await Deno.rename(temporary, path);
    } catch (error) {
      await Deno.remove(temporary).catch(() => {});
      throw new Error(`cannot write ${path}: ${(error as Error).message}`);
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
