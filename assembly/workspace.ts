// Scratch memory for packed GEMM panels. The host (src/engine/heap.ts) owns the whole linear memory and
// hands each kernel instance one workspace region, so the kernels never allocate.

/** Rows of A packed per macro block: 64 rows × KC floats = 80 KiB, sized to sit in L2 beside the B panel. */
export const MC: i32 = 64;
/** Depth of one packed block: 320 floats keeps one MR×KC A sliver + one KC×NR B sliver inside L1 (and a
 * conv layer's 3·3·32 = 288 in one block). */
export const KC: i32 = 320;
/** Columns of B packed per macro block (KC × NC × 4 bytes = 640 KiB). */
export const NC: i32 = 512;

export let packedA: usize = 0;
export let packedB: usize = 0;
/** One micro-tile's worth of floats, for the ragged edges of C. */
export let edgeTile: usize = 0;

/** Bytes the host must reserve and pass to setWorkspace (16-byte aligned). */
export function workspaceBytes(): i32 {
  return (MC * KC + KC * NC + 64) * 4;
}

export function setWorkspace(ptr: usize): void {
  packedA = ptr;
  packedB = packedA + (<usize>(MC * KC) << 2);
  edgeTile = packedB + (<usize>(KC * NC) << 2);
}

/** First byte past the module's static data: where the host's heap may begin. */
export function heapBase(): usize {
  return __heap_base;
}
