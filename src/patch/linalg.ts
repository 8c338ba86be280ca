/**
 * Small dense float64 linear algebra for patches: thin QR, the symmetric eigen-decomposition, and the
 * SVD of a low-rank product `P·R` — enough to factor an edit ΔW exactly (or truncate it) for a LoRA.
 *
 * Matrices are row-major Float64Arrays with explicit dimensions.
 *
 * @module
 */

/**
 * Thin QR of an m×k matrix by modified Gram–Schmidt, applied twice for orthogonality in floating point.
 * Returns Q (m×k, orthonormal columns; a zero column stays zero) and R (k×k, upper triangular).
 *
 * @example
 * ```ts
 * import { thinQr } from "./linalg.ts";
 * const { q, r } = thinQr(new Float64Array([3, 0, 4, 0]), 2, 2); // columns (3,4) and (0,0)
 * r[0]; // 5
 * ```
 */
export function thinQr(a: Float64Array, m: number, k: number): { q: Float64Array; r: Float64Array } {
  // Work column-major for cache-friendly column operations.
  const cols: Float64Array[] = [];
  for (let j = 0; j < k; j++) {
    const c = new Float64Array(m);
    for (let i = 0; i < m; i++) c[i] = a[i * k + j];
    cols.push(c);
  }
  const r = new Float64Array(k * k);
  const scale = Math.max(1e-300, ...cols.map((c) => Math.sqrt(dot(c, c))));
  for (let j = 0; j < k; j++) {
    const v = cols[j];
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const d = dot(cols[p], v);
        r[p * k + j] += d;
        for (let i = 0; i < m; i++) v[i] -= d * cols[p][i];
      }
    }
    const norm = Math.sqrt(dot(v, v));
    // A column that is (numerically) in the span of the previous ones contributes nothing new.
    if (norm <= 1e-13 * scale) {
      v.fill(0);
      continue;
    }
    r[j * k + j] = norm;
    for (let i = 0; i < m; i++) v[i] /= norm;
  }
  const q = new Float64Array(m * k);
  for (let j = 0; j < k; j++) for (let i = 0; i < m; i++) q[i * k + j] = cols[j][i];
  return { q, r };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Eigen-decomposition of a symmetric n×n matrix: Householder reduction to tridiagonal form, then the
 * implicit QL algorithm with Wilkinson shifts. Returns eigenvalues in descending order and the matching
 * eigenvectors as the columns of an n×n row-major matrix.
 *
 * @example
 * ```ts
 * import { symmetricEigen } from "./linalg.ts";
 * symmetricEigen(new Float64Array([2, 1, 1, 2]), 2).values; // Float64Array [3, 1]
 * ```
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const z = Float64Array.from(a); // becomes the eigenvectors (row-major)
  const d = new Float64Array(n), e = new Float64Array(n);
  tridiagonalize(z, n, d, e);
  qlImplicit(z, n, d, e);
  const order = [...d.keys()].sort((i, j) => d[j] - d[i]);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    values[dst] = d[src];
    for (let i = 0; i < n; i++) vectors[i * n + dst] = z[i * n + src];
  });
  return { values, vectors };
}

/** Householder tridiagonalisation in place: on return z holds the orthogonal transform, d/e the diagonals. */
function tridiagonalize(z: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(z[i * n + k]);
      if (scale === 0) e[i] = z[i * n + l];
      else {
        for (let k = 0; k <= l; k++) {
          z[i * n + k] /= scale;
          h += z[i * n + k] * z[i * n + k];
        }
        let f = z[i * n + l];
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        z[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          z[j * n + i] = z[i * n + j] / h;
          let gg = 0;
          for (let k = 0; k <= j; k++) gg += z[j * n + k] * z[i * n + k];
          for (let k = j + 1; k <= l; k++) gg += z[k * n + j] * z[i * n + k];
          e[j] = gg / h;
          f += e[j] * z[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const fj = z[i * n + j];
          const gj = e[j] - hh * fj;
          e[j] = gj;
          for (let k = 0; k <= j; k++) z[j * n + k] -= fj * e[k] + gj * z[i * n + k];
        }
      }
    } else e[i] = z[i * n + l];
    d[i] = h;
  }
  d[0] = 0;
  e[0] = 0;
  for (let i = 0; i < n; i++) {
    if (d[i] !== 0) {
      for (let j = 0; j < i; j++) {
        let g = 0;
        for (let k = 0; k < i; k++) g += z[i * n + k] * z[k * n + j];
        for (let k = 0; k < i; k++) z[k * n + j] -= g * z[k * n + i];
      }
    }
    d[i] = z[i * n + i];
    z[i * n + i] = 1;
    for (let j = 0; j < i; j++) z[j * n + i] = z[i * n + j] = 0;
  }
}

/** Implicit QL iterations on the tridiagonal (d, e), accumulating rotations into z. */
function qlImplicit(z: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iter++ === 60) throw new Error("symmetricEigen: no convergence");
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1, c = 1, p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          let f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
          for (let k = 0; k < n; k++) {
            f = z[k * n + i + 1];
            z[k * n + i + 1] = s * z[k * n + i] + c * f;
            z[k * n + i] = c * z[k * n + i] - s * f;
          }
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
}

/** A thin singular value decomposition U·diag(S)·Vᵀ. */
export interface Svd {
  /** m×r, orthonormal columns, row-major. */
  u: Float64Array;
  /** r singular values, descending. */
  s: Float64Array;
  /** n×r, orthonormal columns, row-major. */
  v: Float64Array;
  /** Rows of the matrix. */
  m: number;
  /** Columns of the matrix. */
  n: number;
  /** Number of singular triplets kept. */
  r: number;
}

/**
 * The SVD of the product P·R (P m×k, R k×n) without forming it: QR of P, then the eigen-decomposition of the
 * k×k matrix B·Bᵀ with B = R₁·R. Singular values below `relTol`·σ₁ are dropped (the numerical rank).
 * Cost O((m + n)·k²): cheap whenever the product has low rank.
 *
 * @example
 * ```ts
 * import { svdOfProduct } from "./linalg.ts";
 * // [[1],[2]] · [[3, 4]] has one singular value, √5·5.
 * svdOfProduct(new Float64Array([1, 2]), new Float64Array([3, 4]), 2, 1, 2).s; // Float64Array [11.18…]
 * ```
 */
export function svdOfProduct(
  p: Float64Array,
  rMat: Float64Array,
  m: number,
  k: number,
  n: number,
  relTol = 1e-9,
): Svd {
  const { q, r: r1 } = thinQr(p, m, k);
  const b = new Float64Array(k * n); // R1 · R
  for (let i = 0; i < k; i++) {
    for (let t = i; t < k; t++) {
      const f = r1[i * k + t];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) b[i * n + j] += f * rMat[t * n + j];
    }
  }
  const bbt = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += b[i * n + t] * b[j * n + t];
      bbt[i * k + j] = bbt[j * k + i] = s;
    }
  }
  const { values, vectors } = symmetricEigen(bbt, k);
  const top = Math.sqrt(Math.max(values[0], 0));
  let r = 0;
  while (r < k && Math.sqrt(Math.max(values[r], 0)) > relTol * top && top > 0) r++;
  const s = new Float64Array(r), u = new Float64Array(m * r), v = new Float64Array(n * r);
  for (let c = 0; c < r; c++) {
    s[c] = Math.sqrt(values[c]);
    for (let i = 0; i < m; i++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += q[i * k + t] * vectors[t * k + c];
      u[i * r + c] = acc;
    }
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let t = 0; t < k; t++) acc += b[t * n + j] * vectors[t * k + c];
      v[j * r + c] = acc / s[c];
    }
  }
  return { u, s, v, m, n, r };
}
