// Loads the kernel binaries from the build folder on disk: for tests, benchmarks and library users under
// Node, Deno or Bun. The standalone executable embeds them instead (src/cli/embedded-assets.ts).

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { KernelLibrary } from "./wasm-kernels";

const buildDir = fileURLToPath(new URL("../../build/", import.meta.url));

let cached: KernelLibrary | undefined;

export function loadKernelLibraryFromDisk(dir = buildDir): KernelLibrary {
  if (!cached || dir !== buildDir) {
    const read = (name: string) => {
      try {
        return readFileSync(dir + name);
      } catch {
        throw new Error(`kernel binary ${dir}${name} is missing: run \`npm run build:kernels\` first`);
      }
    };
    const library = KernelLibrary.fromBinaries({ simd: read("kernels-simd.wasm"), relaxedSimd: read("kernels-relaxed.wasm") });
    if (dir !== buildDir) return library;
    cached = library;
  }
  return cached;
}

/** Only the plain-SIMD build, regardless of what the engine supports (tests cover both builds). */
export function loadSimdOnlyKernelLibrary(dir = buildDir): KernelLibrary {
  return KernelLibrary.fromBinaries({ simd: readFileSync(dir + "kernels-simd.wasm") });
}
