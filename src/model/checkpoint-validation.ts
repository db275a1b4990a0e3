// Checks on a decoded checkpoint before anything trusts it. The CRC only proves the bytes are the ones
// that were written: a file can be truncated or edited and given a matching checksum, so its header is held
// to the same standard as any other input.

import { checkJsonValueDepth } from "../io/json-depth";
import type { CheckpointHeader } from "./checkpoint";

/** What can be checked from the header and the data alone, before a model is built from them. */
export function checkCheckpointHeader(header: CheckpointHeader, data: Uint8Array, source: string): void {
  checkJsonValueDepth(header, `${source}: the checkpoint header`);
}
