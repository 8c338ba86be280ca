/**
 * Default settings per kind of concept, as the reference implementations ship them
 * (see `shared/reference/closed_form_methods.md`): UCE as the published code (λ 0.5, erase scale 1,
 * aligned rows), RECE's per-task λ and epochs, guides and preserve sets.
 *
 * @module
 */
import type { TokenConvention } from "./rows.ts";

/** What is being erased; decides the defaults. */
export type ConceptKind = "object" | "style" | "nudity" | "unsafe" | "identity";

/** Every setting of a closed-form erasure. */
export interface ClosedFormSettings {
  /** `uce` alone, or `rece` (UCE, then adversarial epochs). */
  method: "uce" | "rece";
  /** Guide per concept (one value serves all). Targets are W·guide. */
  guide: string;
  /** Texts whose keys must not move. Empty prompt "" is the usual anchor. */
  preserve: string[];
  /** Weight of the preserve rows in the UCE solve. */
  preserveScale: number;
  /** Weight of the edit rows. */
  eraseScale: number;
  /** UCE ridge λ. */
  lambda: number;
  /** Rows used by the UCE step. */
  convention: TokenConvention;
  /** 1 erases; below 1 moderates (moves part of the way to the guide). */
  strength: number;
  /** RECE: ridge of the adversarial-embedding solve (`regular_scale`). */
  receLambda: number;
  /** RECE: epochs. */
  receEpochs: number;
  /** RECE: ridge toward the current weights in each re-edit (`lamb`). */
  receRidge: number;
  /** RECE: preserve scale in each re-edit. */
  recePreserveScale: number;
  /** RECE: texts preserved in each re-edit (all 77 rows each). */
  recePreserve: string[];
}

/**
 * The defaults for a kind of concept. Artist styles preserve every other artist of the reference set
 * (`preserveArtists` is filled in by the caller, which knows the concept being erased).
 *
 * @example
 * ```ts
 * import { defaultSettings } from "./defaults.ts";
 * defaultSettings("style", "rece").guide; // "art"
 * defaultSettings("nudity", "rece").receEpochs; // 3
 * ```
 */
export function defaultSettings(kind: ConceptKind, method: "uce" | "rece"): ClosedFormSettings {
  const base: ClosedFormSettings = {
    method,
    guide: " ",
    preserve: [""],
    preserveScale: 1,
    eraseScale: 1,
    lambda: 0.5,
    convention: "aligned",
    strength: 1,
    receLambda: 1e-3,
    receEpochs: 1,
    receRidge: 0.1,
    recePreserveScale: 0.1,
    recePreserve: [""],
  };
  switch (kind) {
    // RECE's nudity/unsafe scripts preserve " " (once per concept: the caller scales by the count).
    case "nudity":
      return { ...base, receLambda: 0.1, receEpochs: 3, recePreserve: [" "] };
    case "unsafe":
      return { ...base, receLambda: 0.1, receEpochs: 2, recePreserve: [" "] };
    case "style":
      return { ...base, guide: "art", preserveScale: 0.1, receLambda: 1e-3, receEpochs: 1 };
    case "object":
    case "identity":
      return base;
  }
}
