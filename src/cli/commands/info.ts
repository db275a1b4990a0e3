// wasmgrad info: the runtime, which WebAssembly features it offers, and which kernel build was chosen.

import type { CAC } from "cac";
import { kernelLibrary, newKernels, threadCount, threadFallbackReason } from "../../engine/backend";
import { addressSpaceLimit } from "../../engine/threaded-kernels";
import { MAX_MEMORY_BYTES, formatBytes } from "../../engine/heap";
import { BUILTIN_MODELS, embeddedKernelBinaries } from "../embedded-assets";
import { writeOut } from "../output";

export function registerInfo(cli: CAC, version: string): void {
  cli
    .command("info", "Show the runtime, WebAssembly features and kernel build")
    .option("--json", "Print JSON")
    .action((flags: { json?: boolean }) => {
      const binaries = embeddedKernelBinaries();
      // Start the kernels as a model would, so that the threads reported are the ones a model gets.
      newKernels();
      const facts = {
        wasmgrad: version,
        runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`,
        platform: `${process.platform}-${process.arch}`,
        simd: WebAssembly.validate(binaries.simd as BufferSource),
        relaxedSimd: WebAssembly.validate(binaries.relaxedSimd as BufferSource),
        threads: sharedMemoryAvailable(),
        kernels: kernelLibrary().variant,
        threadedKernels: kernelLibrary().threadedModule !== undefined,
        threadsInUse: threadCount(),
        threadsNote: threadFallbackReason() ?? null,
        addressSpace: addressSpaceLimit().replace(/^, with the address space limited to /, "").replace(/ \(ulimit -v\)$/, "") || "unlimited",
        cpus: typeof navigator !== "undefined" ? navigator.hardwareConcurrency : undefined,
        kernelBytes: { simd: binaries.simd.byteLength, relaxedSimd: binaries.relaxedSimd?.byteLength ?? 0 },
        maxMemory: formatBytes(MAX_MEMORY_BYTES),
        models: Object.keys(BUILTIN_MODELS),
        embeddedData: "MNIST sample, 8,000 train / 2,000 test",
      };
      if (flags.json) {
        writeOut(JSON.stringify(facts, null, 2) + "\n");
        return;
      }
      const yes = (b: boolean) => (b ? "yes" : "no");
      writeOut(
        [
          `wasmgrad ${facts.wasmgrad} on ${facts.runtime} (${facts.platform})`,
          `WebAssembly SIMD: ${yes(facts.simd)}  relaxed SIMD: ${yes(facts.relaxedSimd)}  threads (shared memory): ${yes(facts.threads)}  CPUs: ${facts.cpus ?? "?"}`,
          `kernels: ${facts.kernels} (simd ${facts.kernelBytes.simd} bytes, relaxed ${facts.kernelBytes.relaxedSimd} bytes) on ${facts.threadsInUse} thread(s) (--threads)${facts.threadsNote ? ` (${facts.threadsNote})` : ""}, memory limit ${facts.maxMemory}, address space ${facts.addressSpace}`,
          `built-in models: ${facts.models.join(", ")}`,
          `embedded data: ${facts.embeddedData}`,
        ].join("\n") + "\n",
      );
    });
}

function sharedMemoryAvailable(): boolean {
  try {
    return typeof SharedArrayBuffer === "function" && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}
