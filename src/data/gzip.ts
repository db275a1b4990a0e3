// gzip through the web-standard DecompressionStream (Node ≥ 18, Deno, Bun and browsers all have it).

import { InputError } from "../errors";

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Refuse to inflate past this (1 GiB): a corrupt or hostile stream must not exhaust memory. */
const MAX_INFLATED_BYTES = 1 << 30;

export async function gunzip(bytes: Uint8Array, source: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_INFLATED_BYTES) {
        await reader.cancel();
        throw new InputError(`${source}: inflates to more than 1 GiB; refusing`);
      }
      chunks.push(value);
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${source}: the gzip data is corrupt or truncated (${(error as Error).message})`);
  }
}

export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
