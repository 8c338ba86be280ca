/**
 * The built-in toy world (`conceptbench/toy/`): a tiny Stable Diffusion 1.x-format model trained on a
 * procedural world of objects, styles and invented characters, its judge, and its concept manifest.
 *
 * @module
 */
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** Where the toy world's manifest lives in this package. */
export const TOY_MANIFEST_URL: URL = new URL("../../conceptbench/toy/concepts.json", import.meta.url);

/**
 * The toy world's manifest path, or null when the package was installed without it (or it is not a local file).
 *
 * @example
 * ```ts ignore
 * import { toyManifestPath } from "./toy_world.ts";
 * const path = await toyManifestPath(); // ".../conceptbench/toy/concepts.json"
 * ```
 */
export async function toyManifestPath(): Promise<string | null> {
  if (TOY_MANIFEST_URL.protocol !== "file:") return null;
  const path = fileURLToPath(TOY_MANIFEST_URL);
  return await stat(path).then(() => path, () => null);
}
