// wasmgrad predict: class and probabilities for each image of an IDX file.

import type { CAC } from "cac";
import { parseIdx } from "../../data/idx";
import { InputError } from "../../errors";
import { numberFlag, stringFlag } from "../options";
import { loadCheckpoint, readInputFile } from "../sources";

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
      const idx = await parseIdx(bytes, inputPath);
      const shape = idx.dims.length === 3 ? [idx.dims[1], idx.dims[2], 1] : idx.dims.slice(1);
      const want = model.inputShape!;
      if (idx.dims.length < 2 || shape.join(",") !== want.join(",")) {
        throw new InputError(`${inputPath} holds data shaped [${idx.dims}] but the model takes images shaped [${want}] (after the count)`);
      }
      const x = new Float32Array(idx.data.length);
      for (let i = 0; i < x.length; i++) x[i] = idx.data[i] / 255;
      const [out] = model.predictAll(x, { batchSize: 256 });
      const classes = out.shape[1] ?? 1;
      const rows = Array.from({ length: idx.dims[0] }, (_, i) => {
        const p = Array.from(out.data.subarray(i * classes, (i + 1) * classes));
        const ranked = p.map((v, c) => ({ class: c, probability: v })).sort((a, b) => b.probability - a.probability);
        return { index: i, class: ranked[0].class, probabilities: p, top: ranked.slice(0, top) };
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify(rows.map(({ index, class: c, probabilities }) => ({ index, class: c, probabilities })), null, 2) + "\n");
        return;
      }
      for (const r of rows) {
        process.stdout.write(`#${r.index}: ${r.class}  (${r.top.map((t) => `${t.class} ${t.probability.toFixed(4)}`).join(", ")})\n`);
      }
    });
}
