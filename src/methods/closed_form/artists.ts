/**
 * The 1,734 artist names of the UCE artist prompt set (see `src/methods/data/README.md`): the default
 * preserve set when an artist's style is erased — every other artist is preserved at scale 0.1.
 *
 * @module
 */

let cached: Promise<string[]> | null = null;

/**
 * The artist names, in the source's order (read once; works from a local checkout and from a registry).
 *
 * @example
 * ```ts ignore
 * import { loadArtists } from "./artists.ts";
 * (await loadArtists()).length; // 1734
 * ```
 */
export function loadArtists(): Promise<string[]> {
  return cached ??= (async () => {
    const url = new URL("../data/artists1734.txt", import.meta.url);
    const text = url.protocol === "file:" ? await Deno.readTextFile(url) : await (await fetch(url)).text();
    return text.split("\n").map((s) => s.trim()).filter(Boolean);
  })();
}
