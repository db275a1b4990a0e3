// wasmgrad predict: class and probabilities for each image of an IDX file. Images are converted to floats
// and classified a chunk at a time and each result is written as it comes, so memory stays near the size
// of the file itself however many images it holds.

import type { CAC } from "cac";
import { byteImageArray } from "../../data/array-file";
import { parseIdx } from "../../data/idx";
import { InputError } from "../../errors";
import { numberFlag, stringFlag } from "../options";
import { JsonArrayWriter, flushOut, writeOut } from "../output";
import { loadCheckpoint, readInputFile } from "../sources";
import { displayText } from "../../io/display";

/** Images per model.predict call: 4,096 MNIST images are 12.8 MB of floats. */
const CHUNK = 4096;

/** The `k` most probable classes of `row`, best first (ties: the lower class first), into `order`; returns k. */
function topClasses(row: Float32Array, k: number, order: Int32Array): number {
  let filled = 0;
  for (let c = 0; c < row.length; c++) {
    // Insertion into the sorted top k: k is small (3 by default), so this beats sorting every row.
    let at = filled < k ? filled++ : k;
    while (at > 0 && row[order[at - 1]] < row[c]) {
      if (at < k) order[at] = order[at - 1];
      at--;
    }
    if (at < k) order[at] = c;
  }
  return filled;
}

export function registerPredict(cli: CAC): void {
  cli
    .command("predict <checkpoint>", "Classify the images of an IDX file")
    .option("--input <file>", "IDX images (gzipped or raw), shaped [count, rows, cols]")
    .option("--top <k>", "How many classes to list per image", { default: 3 })
    .option("--json", "Print JSON: one object per image with class and probabilities")
    .example("wasmgrad predict cnn.wgd --input t10k-images-idx3-ubyte.gz --json")
    .action(async (checkpoint: string, flags: { input?: string; top: unknown; json?: boolean }) => {
      const inputPath = stringFlag(flags.input, "input");
      const top = numberFlag(flags.top, "top", { min: 1, max: 1000, integer: true });
      const model = loadCheckpoint(checkpoint);
      const bytes = readInputFile(inputPath, "--input");
      const source = displayText(inputPath);
      const idx = await parseIdx(bytes, source);
      const shape = idx.dims.length === 3 ? [idx.dims[1], idx.dims[2], 1] : idx.dims.slice(1);
      const want = model.inputShape!;
      if (idx.dims.length < 2 || shape.join(",") !== want.join(",")) {
        throw new InputError(`${source} holds data shaped [${idx.dims}] but the model takes images shaped [${want}] (after the count)`);
      }
      const count = idx.dims[0];
      const sampleSize = idx.data.length / count;
      const images = byteImageArray(idx.dims, idx.data);
      const json = flags.json ? new JsonArrayWriter() : undefined;
      const order = new Int32Array(top);
      for (let start = 0; start < count; start += CHUNK) {
        const n = Math.min(CHUNK, count - start);
        const [out] = model.predictAll(images.values(start * sampleSize, (start + n) * sampleSize), { batchSize: 256 });
        const classes = out.shape[1] ?? 1;
        for (let r = 0; r < n; r++) {
          const row = out.data.subarray(r * classes, (r + 1) * classes);
          const shown = topClasses(row, Math.min(top, classes), order);
          const index = start + r;
          if (json) json.addRaw(`{\n  "index": ${index},\n  "class": ${order[0]},\n  "probabilities": [\n${Array.from(row, (p) => `    ${p}`).join(",\n")}\n  ]\n}`);
          else {
            let line = `#${index}: ${order[0]}  (`;
            for (let t = 0; t < shown; t++) line += `${t > 0 ? ", " : ""}${order[t]} ${row[order[t]].toFixed(4)}`;
            writeOut(`${line})\n`);
          }
        }
      }
      if (json) json.end();
      flushOut();
    });
}
