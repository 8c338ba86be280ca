import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { GraphBuilder } from "./graph.ts";
import { serializeModel } from "./onnx_model.ts";
import { cachedSession, cachedSessionCount, releaseSessions } from "./session_cache.ts";

function negate() {
  const g = new GraphBuilder("neg");
  g.output(g.op("Neg", [g.input("x", "float32", [2])], {}, "y"), "float32", [2]);
  return serializeModel(g.build());
}

Deno.test("session cache: concurrent callers share one build; timings reported once; release by prefix", async () => {
  let builds = 0;
  const build = () => {
    builds++;
    return negate();
  };
  const [a, b] = await Promise.all([
    cachedSession("test-cache:neg", "ort-web", build),
    cachedSession("test-cache:neg", "ort-web", build),
  ]);
  deepStrictEqual(builds, 1);
  ok(a.session === b.session);
  const again = await cachedSession("test-cache:neg", "ort-web", build);
  deepStrictEqual(again.timing, { cached: true, buildMs: 0, createMs: 0 });
  ok(!a.timing.cached && a.timing.createMs > 0);
  const before = cachedSessionCount();
  await releaseSessions("test-cache:");
  deepStrictEqual(cachedSessionCount(), before - 1);
  // A failed build is not cached: the next call builds again.
  await rejects(
    cachedSession("test-cache:bad", "ort-web", () => Promise.reject(new Error("no weights"))),
    /no weights/,
  );
  await cachedSession("test-cache:bad", "ort-web", build);
  deepStrictEqual(builds, 2);
  await releaseSessions("test-cache:");
});
