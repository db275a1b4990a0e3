// Loads the kernel binaries from the build folder on disk: for tests, benchmarks and library users under
// Node, Deno or Bun. The standalone executable embeds them instead (src/cli/embedded-assets.ts).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KernelLibrary } from "./wasm-kernels";

const buildDir = fileURLToPath(new URL("../../build/", import.meta.url));

let cached: KernelLibrary | undefined;

function readKernel(name: string): Uint8Array {
  try {
    return readFileSync(buildDir + name);
  } catch {
    throw new Error(`kernel binary ${buildDir}${name} is missing: run \`npm run build:kernels\` first`);
  }
}

/** The best build the engine runs (compiled once per process). */
export function loadKernelLibraryFromDisk(): KernelLibrary {
  cached ??= KernelLibrary.fromBinaries({
    simd: readKernel("kernels-simd.wasm"), relaxedSimd: readKernel("kernels-relaxed.wasm"),
    threadsSimd: readKernel("kernels-threads-simd.wasm"), threadsRelaxedSimd: readKernel("kernels-threads-relaxed.wasm"),
  });
  return cached;
}

/** Only the plain-SIMD build, regardless of what the engine supports (tests cover both builds). */
export function loadSimdOnlyKernelLibrary(): KernelLibrary {
  return KernelLibrary.fromBinaries({ simd: readKernel("kernels-simd.wasm") });
}
