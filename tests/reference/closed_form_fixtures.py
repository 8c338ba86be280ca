"""Golden fixtures for UCE and RECE, reimplemented from the published description (not from any code).

Run by hand from the repository root:  python tests/reference/closed_form_fixtures.py

A tiny random "model": 4 cross-attention matrices (to_k, to_v of two layers) of width d = 16, and random
77-row "text embeddings" with token counts. For each case the script applies, layer by layer and exactly as
the papers state it (float64, explicit inverse like the reference scripts):
  UCE:  W' = (λW + s_e Σ_i (W g_i) c_iᵀ + s_p Σ_j (W p_j) p_jᵀ) (λI + s_e Σ_i c_i c_iᵀ + s_p Σ_j p_j p_jᵀ)⁻¹
        with the keys/guide rows of the chosen token convention ("aligned": from the last word token on, aligned
        at it; "last-token": one row), preserve rows all 77 ("aligned") or the last token's.
  RECE: per epoch, e' = (λ_r I + Σ_l W'_lᵀW'_l)⁻¹ (Σ_l W'_lᵀW_l) e on all 77 rows, then the same UCE update on the
        current weights W' with keys e' (all rows), guide rows all 77, preserve rows all 77, ridge λ₁, preserve λ₂.
It writes tests/fixtures/closed_form/cases.json: inputs (weights, embeddings, lengths, settings) and the
expected weights after the edit, which src/methods/closed_form/reference_test.ts compares with ours.
"""
import json, os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "closed_form", "cases.json")
D, SEQ = 16, 77
rng = np.random.default_rng(1234)


def text(length):
    """77 embedding rows; rows past the EOS repeat a pattern like CLIP's padding rows (all distinct)."""
    return {"rows": (rng.standard_normal((SEQ, D)) * 0.5).tolist(), "length": length}


def last(length):
    return max(0, length - 2)


def rows_of(t):
    return np.array(t["rows"], dtype=np.float64)


def edit_rows(c, g, convention):
    a, b = last(c["length"]), last(g["length"])
    C, G = rows_of(c), rows_of(g)
    if convention == "last-token":
        return C[a:a + 1], G[b:b + 1]
    f = max(a, b)
    return C[a:SEQ - (f - a)], G[b:SEQ - (f - b)]


def preserve_rows(p, convention):
    P = rows_of(p)
    return P if convention == "aligned" else P[last(p["length"]):last(p["length"]) + 1]


def uce_layer(W, keys, targets, pres, pres_targets, s_e, s_p, lam):
    """One matrix, as the closed form is written: targets are given explicitly (v* rows)."""
    d = W.shape[1]
    mat1 = lam * W.copy()
    mat2 = lam * np.eye(d)
    for c, v in zip(keys, targets):
        mat1 += s_e * np.outer(v, c)
        mat2 += s_e * np.outer(c, c)
    for p, v in zip(pres, pres_targets):
        mat1 += s_p * np.outer(v, p)
        mat2 += s_p * np.outer(p, p)
    return mat1 @ np.linalg.inv(mat2)


def uce(weights, concepts, guides, preserve, s):
    out = []
    for W in weights:
        keys, targets, pres, pres_t = [], [], [], []
        for c, g in zip(concepts, guides):
            C, G = edit_rows(c, g, s["convention"])
            keys.extend(C)
            targets.extend(G @ W.T)  # v* = W g
        for p in preserve:
            P = preserve_rows(p, s["convention"])
            pres.extend(P)
            pres_t.extend(P @ W.T)  # keep: W p
        out.append(uce_layer(W, keys, targets, pres, pres_t, s["eraseScale"], s["preserveScale"], s["lambda"]))
    return out


def rece(original, current, concepts, guides, rece_preserve, s, epochs):
    for _ in range(epochs):
        d = original[0].shape[1]
        lhs = s["receLambda"] * np.eye(d) + sum(Wc.T @ Wc for Wc in current)
        rhs = sum(Wc.T @ Wo for Wc, Wo in zip(current, original))
        coef = np.linalg.inv(lhs) @ rhs
        advs = [rows_of(c) @ coef.T for c in concepts]  # every row: e' = coef · e
        new = []
        for Wc in current:
            keys, targets, pres, pres_t = [], [], [], []
            for adv, g in zip(advs, guides):
                keys.extend(adv)
                targets.extend(rows_of(g) @ Wc.T)  # targets from the current weights
            for p, scale in rece_preserve:
                P = rows_of(p)
                pres.extend(P)
                pres_t.extend(P @ Wc.T)
            scale = rece_preserve[0][1] if rece_preserve else 0
            new.append(uce_layer(Wc, keys, targets, pres, pres_t, s["eraseScale"], scale, s["receRidge"]))
        current = new
    return current


def main():
    outs = [8, 8, 12, 12]
    weights = [rng.standard_normal((o, D)) / np.sqrt(D) for o in outs]
    texts = {"concept one": text(4), "concept two": text(3), " ": text(2), "": text(2), "art": text(3),
             "keep this": text(5), "keep that one": text(6)}
    base = {"eraseScale": 1.0, "strength": 1.0}
    cases = []
    for name, concepts, guide, preserve, s, epochs in [
        ("uce-aligned", ["concept one"], " ", ["", "keep this"],
         {**base, "convention": "aligned", "preserveScale": 1.0, "lambda": 0.5}, 0),
        ("uce-last-token-two-concepts", ["concept one", "concept two"], "art", ["", "keep this", "keep that one"],
         {**base, "convention": "last-token", "preserveScale": 0.1, "lambda": 0.5}, 0),
        ("rece-aligned-2-epochs", ["concept one"], " ", [""],
         {**base, "convention": "aligned", "preserveScale": 1.0, "lambda": 0.5,
          "receLambda": 0.1, "receRidge": 0.1, "recePreserveScale": 0.1}, 2),
    ]:
        guides = [texts[guide]] * len(concepts)
        cs = [texts[c] for c in concepts]
        ps = [texts[p] for p in preserve]
        after = uce(weights, cs, guides, ps, s)
        if epochs:
            after = rece(weights, after, cs, guides, [(texts[" "], s["recePreserveScale"])], s, epochs)
        cases.append({"name": name, "concepts": concepts, "guide": guide, "preserve": preserve, "settings": s,
                      "epochs": epochs, "expected": [w.tolist() for w in after]})
    json.dump({"d": D, "outs": outs, "weights": [w.tolist() for w in weights], "texts": texts, "cases": cases},
              open(OUT, "w"))
    print("wrote", OUT, [c["name"] for c in cases])


if __name__ == "__main__":
    main()
