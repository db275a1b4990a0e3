// The executable's ONNX runtime. onnxruntime-web ships two WebAssembly builds and the executable embeds
// both, gzipped: the plain one runs the WASM provider (with worker threads, whose Emscripten glue is
// compiled in as a second entry point; see package.json), the asyncify one runs WebGPU (its workers need
// blob: URLs, which Bun lacks, so it runs single-threaded — the GPU does the work). Dawn's dawn.node,
// which gives Bun a navigator.gpu, is embedded gzipped too and unpacked once into the temporary
// directory (a native module must be a file to be loaded).

import ortWasmGz from "../../build/runtime/ort-wasm.wasm.gz" with { type: "file" };
import ortWebGpuGz from "../../build/runtime/ort-webgpu.wasm.gz" with { type: "file" };
import dawnNodeGz from "../../build/runtime/dawn.node.gz" with { type: "file" };
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzip } from "../data/gzip";
import { crc32 } from "../model/crc32";
import type { OnnxRuntimeHost } from "../onnx/runtime";
import { setUpWebGpu } from "./webgpu-host";

type Ort = typeof import("onnxruntime-web");

/** Where `bun build --compile` puts the WASM build's glue; absent when running from source. */
const COMPILED_GLUE = "/$bunfs/root/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.js";

let wasmRuntime: Promise<Ort> | undefined;
let webgpuRuntime: Promise<Ort> | undefined;

function ortForWasm(): Promise<Ort> {
  wasmRuntime ??= (async () => {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.wasmBinary = await gunzip(readFileSync(ortWasmGz), "embedded onnxruntime-web");
    if (existsSync(COMPILED_GLUE)) ort.env.wasm.wasmPaths = { mjs: `file://${COMPILED_GLUE}` };
    return ort;
  })();
  return wasmRuntime;
}

function ortForWebGpu(): Promise<Ort> {
  webgpuRuntime ??= (async () => {
    const ort = (await import("onnxruntime-web/webgpu")) as unknown as Ort;
    ort.env.wasm.wasmBinary = await gunzip(readFileSync(ortWebGpuGz), "embedded onnxruntime-web (WebGPU)");
    ort.env.wasm.numThreads = 1;
    return ort;
  })();
  return webgpuRuntime;
}

/** dawn.node unpacked next to others of the same content (named by checksum), written atomically. */
async function dawnNodePath(): Promise<string> {
  const packed = readFileSync(dawnNodeGz);
  const dir = join(tmpdir(), `wasmgrad-dawn-${crc32(packed).toString(16)}`);
  const path = join(dir, "dawn.node");
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    writeFileSync(temp, await gunzip(packed, "embedded dawn.node"));
    renameSync(temp, path);
  }
  return path;
}

export const embeddedOnnxRuntime: OnnxRuntimeHost = {
  wasm: ortForWasm,
  webgpu: async () => {
    let path: string;
    try {
      path = await dawnNodePath();
    } catch (error) {
      return { unavailable: `Dawn (WebGPU) could not be unpacked: ${(error as Error).message}` };
    }
    const runtime = await ortForWebGpu();
    const setup = await setUpWebGpu(path, runtime);
    return "unavailable" in setup ? setup : { ort: runtime, provider: setup.provider, adapter: setup.adapter };
  },
};
