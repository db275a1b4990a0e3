// gzip through the web-standard DecompressionStream (Node ≥ 18, Deno, Bun and browsers all have it).
// Inflation is streamed against a cap (the input limit, src/io/user-file.ts, which --max-input-size
// raises): a bomb stops as soon as it passes the cap, not after it has been held in memory. When the
// caller can tell the final size from the first bytes (an IDX header says exactly how many values follow),
// the output is allocated once at that size and anything past it stops the stream at once, so a 1 MB file
// claiming ten images but inflating to 1 GiB costs a few kilobytes; otherwise the output buffer grows by
// doubling and is never copied whole a second time.

import { InputError } from "../errors";
import { formatSize, inputLimit, limitHint } from "../io/user-file";

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export interface GunzipOptions {
  /** Most bytes accepted after inflation (default: the input limit). */
  limit?: number;
  /**
   * Given the first bytes inflated so far, the exact total the stream must inflate to, or undefined while
   * more bytes are needed to tell. May throw an InputError to stop early (not the expected format).
   */
  sizeFromHead?: (head: Uint8Array) => number | undefined;
  /** Stop once this many head bytes are in without sizeFromHead deciding (default 64). */
  headBytes?: number;
}

export async function gunzip(bytes: Uint8Array, source: string, options: GunzipOptions = {}): Promise<Uint8Array> {
  const limit = options.limit ?? inputLimit().bytes;
  const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  // Until the size is known: a buffer sized from the gzip trailer's ISIZE (the size mod 2³², a hint only).
  const hinted = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true) : 0;
  // Deflate cannot expand more than 1032:1, which bounds a lying hint.
  let out = new Uint8Array(Math.min(limit, Math.max(1 << 16, Math.min(hinted, 1032 * bytes.length))));
  let length = 0;
  let exact: number | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (exact === undefined && options.sizeFromHead && length < (options.headBytes ?? 64)) {
        // Decide from the head before taking the rest of this chunk.
        const head = concatHead(out.subarray(0, length), value, options.headBytes ?? 64);
        const size = options.sizeFromHead(head);
        if (size !== undefined) {
          if (size > limit) throw new InputError(`${source}: its header describes ${formatSize(size)} of data, over ${limitHint(limit)}`);
          exact = size;
          const sized = new Uint8Array(size);
          sized.set(out.subarray(0, Math.min(length, size)));
          out = sized;
        }
      }
      const capacity = exact ?? limit;
      if (length + value.length > capacity) {
        throw new InputError(exact !== undefined
          ? `${source}: inflates to more than the ${exact.toLocaleString("en-US")} bytes its header describes (a corrupt file or a gzip bomb)`
          : `${source}: inflates to more than ${limitHint(limit)}`);
      }
      if (length + value.length > out.length) {
        const grown = new Uint8Array(Math.min(capacity, Math.max(out.length * 2, length + value.length)));
        grown.set(out.subarray(0, length));
        out = grown;
      }
      out.set(value, length);
      length += value.length;
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    if (error instanceof InputError) throw error;
    if (error instanceof RangeError) throw new InputError(`${source}: not enough memory to inflate it (${formatSize(length)} so far); lower --max-input-size or use a smaller file`);
    throw new InputError(`${source}: the gzip data is corrupt or truncated (${(error as Error).message})`);
  }
  return length === out.length ? out : out.subarray(0, length);
}

/** The first `max` bytes of what is held plus the next chunk. */
function concatHead(held: Uint8Array, next: Uint8Array, max: number): Uint8Array {
  const head = new Uint8Array(Math.min(max, held.length + next.length));
  head.set(held.subarray(0, head.length));
  if (held.length < head.length) head.set(next.subarray(0, head.length - held.length), held.length);
  return head;
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
