/**
 * Classifier-free guidance (Ho & Salimans 2022).
 *
 * @module
 */

/**
 * `uncond + scale · (cond − uncond)`, elementwise, into a new array (scale 1 returns `cond`'s values;
 * SD's usual scale is 7.5).
 *
 * @example
 * ```ts
 * import { classifierFreeGuidance } from "./guidance.ts";
 * classifierFreeGuidance(new Float32Array([0]), new Float32Array([1]), 7.5); // [7.5]
 * ```
 */
export function classifierFreeGuidance(
  uncond: Float32Array,
  cond: Float32Array,
  scale: number,
): Float32Array {
  if (uncond.length !== cond.length) {
    throw new Error(`classifierFreeGuidance: uncond has ${uncond.length} values but cond has ${cond.length}`);
  }
  const out = new Float32Array(cond.length);
  for (let i = 0; i < out.length; i++) out[i] = uncond[i] + scale * (cond[i] - uncond[i]);
  return out;
}
