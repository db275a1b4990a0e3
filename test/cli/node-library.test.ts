// The library is runtime-neutral: its Node bundle (dist/lib/index.mjs, built by `npm run build:lib`)
// trains under plain Node.js, whose V8 may lack relaxed SIMD and then gets the plain-SIMD kernels.

import { expect, test } from "bun:test";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

test("the library bundle trains a model under Node.js", () => {
  const script = `
    import { Sequential, Dense, tensor } from ${JSON.stringify(join(root, "dist", "lib", "index.mjs"))};
    const x = new Float32Array(64 * 2).map((_, i) => ((i * 37) % 11) / 10);
    const y = Int32Array.from({ length: 64 }, (_, i) => (x[2 * i] > x[2 * i + 1] ? 1 : 0));
    const model = new Sequential({ inputShape: [2], seed: 1, layers: [new Dense({ units: 8, activation: "tanh" }), new Dense({ units: 2, activation: "softmax" })] });
    model.compile({ optimizer: { type: "adam", learningRate: 0.05 }, loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    await model.fit(x, y, { epochs: 40, batchSize: 16 });
    console.log(JSON.stringify({ node: process.version, kernels: model.kernels.variant, ...model.evaluate(tensor(x, [64, 2]), y) }));
  `;
  const r = Bun.spawnSync(["node", "--input-type=module", "-e", script], { cwd: root, stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  const result = JSON.parse(r.stdout.toString());
  expect(result.node).toStartWith("v");
  expect(result.kernels).toMatch(/^wasm-(relaxed-)?simd$/);
  expect(result.accuracy).toBeGreaterThan(0.9);
}, 60_000);
