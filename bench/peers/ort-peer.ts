// ONNX Runtime (onnxruntime-web) as an inference peer: each built-in model, freshly initialised, is
// exported to ONNX and run by the executable's own `bench --onnx` (WASM provider, and WebGPU where an
// adapter exists), so ORT runs in the same runtime and binary as wasmgrad.
//   bun bench/peers/ort-peer.ts --model mlp --threads 1 --infer-batch 1,64,512

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import "../../src/index";
import { exportOnnx } from "../../src/onnx/export";
import { buildModel, validateModelFile } from "../../src/model/model-file";

const { values } = parseArgs({ options: { model: { type: "string", default: "mlp" }, threads: { type: "string", default: "1" }, "infer-batch": { type: "string", default: "1,64,512" } } });
const root = join(import.meta.dir, "..", "..");
const file = validateModelFile(JSON.parse(readFileSync(join(root, "models", `${values.model}.json`), "utf8")), values.model!);
const path = join(mkdtempSync(join(tmpdir(), "wasmgrad-ort-peer-")), `${values.model}.onnx`);
writeFileSync(path, exportOnnx(buildModel(file, values.model!, { seed: 1 })));
const r = Bun.spawnSync([join(root, "dist", "wasmgrad"), "bench", "--onnx", path, "--threads", values.threads!, "--infer-batches", values["infer-batch"]!, "--json"], { stdout: "pipe", stderr: "pipe" });
if (r.exitCode !== 0) throw new Error(`wasmgrad bench --onnx failed: ${r.stderr.toString()}`);
process.stdout.write(r.stdout.toString());
