// Build step: the ONNX runtime pieces the executable embeds, gzipped (they shrink to a quarter):
// onnxruntime-web's two WebAssembly builds — the plain one for the WASM provider (its worker threads
// start under Bun) and the WebGPU one (asyncify), whose workers would need blob: URLs, which Bun lacks —
// and Dawn's dawn.node for the target platform (WebGPU under Bun).
//   bun scripts/build-runtime-assets.ts [outDir] [platform-arch, default: this machine's, e.g. linux-arm64]

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gzip } from "../src/data/gzip";

const outDir = process.argv[2] ?? "build/runtime";
const target = process.argv[3] ?? `${process.platform}-${process.arch}`;
const require = createRequire(import.meta.url);
const ortDist = dirname(require.resolve("onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm"));
const webgpuRoot = dirname(require.resolve("webgpu/package.json"));

mkdirSync(outDir, { recursive: true });
const assets: [string, string][] = [
  [join(ortDist, "ort-wasm-simd-threaded.wasm"), "ort-wasm.wasm.gz"],
  [join(ortDist, "ort-wasm-simd-threaded.asyncify.wasm"), "ort-webgpu.wasm.gz"],
  [join(webgpuRoot, "dist", target, "dawn.node"), "dawn.node.gz"],
];
for (const [from, to] of assets) {
  const bytes = readFileSync(from);
  const packed = await gzip(bytes);
  writeFileSync(join(outDir, to), packed);
  console.log(`${to}: ${(bytes.length / 1e6).toFixed(1)} MB → ${(packed.length / 1e6).toFixed(1)} MB`);
}
