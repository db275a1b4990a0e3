// Entry point for Node, Deno and Bun: kernels load from the package's build folder on first use.
import { setKernelLibraryProvider } from "./engine/backend";
import { loadKernelLibraryFromDisk } from "./engine/kernel-files";

setKernelLibraryProvider(() => loadKernelLibraryFromDisk());

export * from "./library";
export { loadImageDirectory } from "./data/files";
