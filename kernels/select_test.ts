import assert from "node:assert/strict";
import { cpuGram } from "./cpu/gram.ts";
import { cpuMatmul } from "./cpu/matmul.ts";
import { matrix, relativeMaxError } from "./matrix.ts";
import { randomMatrix } from "./random.ts";
import { parseBackendChoice, selectBackend } from "./select.ts";
import { probeAdapter, webGpuUnavailableMessage } from "./webgpu/device.ts";

Deno.test("parseBackendChoice accepts webgpu, cpu, auto and names the accepted values otherwise", () => {
  for (const v of ["webgpu", "cpu", "auto"]) assert.equal(parseBackendChoice(v), v);
  assert.throws(() => parseBackendChoice("cuda"), /--backend must be one of webgpu, cpu, auto; got "cuda"/);
});

Deno.test("auto picks the CPU on a software adapter and WebGPU only on hardware", async () => {
  const probe = await probeAdapter();
  const backend = await selectBackend("auto");
  assert.equal(backend.kind, probe.status === "ok" && !probe.isFallback ? "webgpu" : "cpu");
  backend.dispose();
});

Deno.test("webgpu explains a missing adapter or a run without WebGPU enabled", async () => {
  assert.match(webGpuUnavailableMessage("no-webgpu"), /--unstable-webgpu/);
  assert.match(webGpuUnavailableMessage("no-adapter"), /mesa-vulkan-drivers/);
  const probe = await probeAdapter();
  if (probe.status === "ok") {
    const backend = await selectBackend("webgpu");
    assert.equal(backend.kind, "webgpu");
    assert.match(backend.description, probe.isFallback ? /software adapter/ : /hardware adapter/);
    backend.dispose();
  } else {
    await assert.rejects(
      selectBackend("webgpu"),
      new RegExp(probe.status === "no-webgpu" ? "not enabled" : "no adapter"),
    );
  }
});

Deno.test("the cpu backend's matrix product uses an injected provider above the threshold", async () => {
  const calls: string[] = [];
  const backend = await selectBackend("cpu", {
    cpu: {
      providerThreshold: 8,
      matmulProvider: {
        name: "test-provider",
        matmul(a, b, transA, transB) {
          calls.push(`${a.rows}x${a.cols} ${transA} ${transB}`);
          return Promise.resolve(matrix(a.rows, b.cols, new Float32Array(a.rows * b.cols).fill(7)));
        },
      },
    },
  });
  const small = matrix(1, 1, new Float32Array([2]));
  assert.equal((await backend.matmul(small, small)).data[0], 4); // 1 multiply-add: plain TypeScript
  const big = matrix(2, 2, new Float32Array([1, 2, 3, 4]));
  assert.ok(
    relativeMaxError(await backend.matmul(big, big), matrix(2, 2, new Float32Array(4).fill(7))) === 0,
  );
  assert.deepEqual(calls, ["2x2 false false"]);
  assert.match(backend.description, /test-provider/);
});

Deno.test("webgpu in a Deno run without WebGPU enabled fails with the fix in the message", async () => {
  // Deno 2.9 exposes WebGPU by default; older versions need --unstable-webgpu. Simulate such a run by
  // hiding navigator.gpu in a child process.
  const url = new URL("./select.ts", import.meta.url).href;
  const script = `Object.defineProperty(Navigator.prototype, "gpu", { get: () => undefined });
import { selectBackend } from ${JSON.stringify(url)};
try { await selectBackend("webgpu"); console.log("opened"); } catch (e) { console.log(e.message); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-config", script],
    env: { XDG_RUNTIME_DIR: "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.match(text, /WebGPU is not enabled in this Deno run.*--unstable-webgpu/);
});

Deno.test("the cpu backend can route large Gram chunks through the provider, summing in float64", async () => {
  let calls = 0;
  const backend = await selectBackend("cpu", {
    cpu: {
      providerThreshold: 1,
      gramViaProvider: true,
      matmulProvider: {
        name: "twin",
        matmul(a, b, transA, transB) {
          calls++;
          return Promise.resolve(cpuMatmul(a, b, { transA, transB }));
        },
      },
    },
  });
  const x = randomMatrix(5000, 9, 3); // two chunks of ≤ 4096 rows
  assert.ok(relativeMaxError(await backend.gram(x), cpuGram(x)) < 1e-6);
  assert.equal(calls, 2);
});
