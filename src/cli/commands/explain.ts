// wasmgrad explain: what a trained model looks at. For one input it writes the gradient saliency map (how
// much each pixel moves the predicted class's score) beside the input, and the first convolution's
// filters as an image, as PNG or SVG.

import type { CAC } from "cac";
import { displayText } from "../../io/display";
import { nonFiniteAllowed } from "../input-policy";
import { readArrayFile } from "../../data/array-file";
import { InputError } from "../../errors";
import { checkSaveTarget, writeFileAtomic } from "../../io/atomic-file";
import { Conv2D } from "../../layers/conv2d";
import type { Model } from "../../model/model";
import { heatRgb, divergingRgb, rgbToSvg, tileImages } from "../../viz/image-grid";
import { encodePng } from "../../viz/png";
import { numberFlag, optionalNumberFlag, optionalPathFlag, stringFlag } from "../options";
import { loadCheckpoint, readInputFile } from "../sources";
import { writeOut } from "../output";

interface ExplainFlags {
  input?: string;
  index: unknown;
  class?: unknown;
  output?: string;
  filters?: string;
  json?: boolean;
}

export function registerExplain(cli: CAC): void {
  cli
    .command("explain <checkpoint>", "Saliency map for one input, and the first conv layer's filters, as images")
    .option("--input <file>", "IDX images (as MNIST), .npy or JSON holding the sample")
    .option("--index <i>", "Which sample of the file to explain", { default: 0 })
    .option("--class <c>", "Explain this class's score (default: the predicted class)")
    .option("-o, --output <saliency.png|svg>", "Where to write input + saliency")
    .option("--filters <filters.png|svg>", "Where to write the first conv layer's filters (default: next to --output)")
    .option("--json", "Print the prediction and the files written as JSON")
    .example("wasmgrad explain cnn.wgd --input t10k-images-idx3-ubyte.gz --index 7 -o saliency.png")
    .action(async (checkpoint: string, flags: ExplainFlags) => {
      const inputPath = stringFlag(flags.input, "input");
      const output = stringFlag(flags.output, "output");
      const format = imageFormat(output, "output");
      const filtersFlag = optionalPathFlag(flags.filters, "filters");
      for (const target of [output, filtersFlag]) if (target !== undefined) checkSaveTarget(target);
      const index = numberFlag(flags.index, "index", { min: 0, max: 1e9, integer: true });
      const classIndex = optionalNumberFlag(flags.class, "class", { min: 0, max: 1e6, integer: true });
      const model = loadCheckpoint(checkpoint);
      const array = await readArrayFile(readInputFile(inputPath, "--input"), displayText(inputPath), { allowNonFinite: nonFiniteAllowed() });
      const shape = model.inputShape!;
      const sampleSize = shape.reduce((a, b) => a * b, 1);
      const count = Math.floor(array.length / sampleSize);
      if (array.length % sampleSize !== 0) throw new InputError(`${displayText(inputPath)} holds data shaped [${array.dims}], not samples shaped [${shape}]`);
      if (index >= count) throw new InputError(`--index ${index}: ${displayText(inputPath)} holds ${count} samples`);
      if (shape.length !== 3) throw new InputError(`explain draws images; ${displayText(checkpoint)} takes inputs shaped [${shape}]`);
      const x = array.values(index * sampleSize, (index + 1) * sampleSize).slice();
      const { gradient, predicted, scores } = model.saliency(x, classIndex);

      const [h, w, c] = shape;
      const scale = Math.max(1, Math.round(224 / Math.max(h, w)));
      const gray = channelMean(x, h * w, c);
      const saliency = channelMean(gradient.data.map(Math.abs), h * w, c);
      const panel = tileImages([grayRgb(gray), heatRgb(saliency)], h, w, { columns: 2, scale, gap: 4 });
      await writeImage(output, format, panel);

      const filtersPath = filtersFlag ?? output.replace(/(\.(png|svg))?$/i, `-filters.${format}`);
      const filters = filterImage(model, scale);
      if (filters) await writeImage(filtersPath, imageFormat(filtersPath, "filters"), filters);
      const explained = classIndex ?? predicted;
      const summary = { checkpoint, input: inputPath, index, predicted, explained, scores: Array.from(scores), saliency: output, filters: filters ? filtersPath : null };
      if (flags.json) writeOut(JSON.stringify(summary, null, 2) + "\n");
      else {
        writeOut(`sample ${index}: predicted class ${predicted}; saliency of class ${explained} → ${displayText(output)} (left: input, right: |d score / d pixel|)\n`);
        writeOut(filters ? `first conv layer's filters → ${filtersPath} (blue negative, red positive)\n` : "the model has no convolution layer, so no filter image\n");
      }
    });
}

function imageFormat(path: string, flag: string): "png" | "svg" {
  const ext = path.toLowerCase().split(".").pop();
  if (ext !== "png" && ext !== "svg") throw new InputError(`--${flag} ${displayText(path)}: write a .png or .svg file`);
  return ext;
}


function channelMean(values: Float32Array, pixels: number, channels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    let s = 0;
    for (let ch = 0; ch < channels; ch++) s += values[p * channels + ch];
    out[p] = s / channels;
  }
  return out;
}

function grayRgb(values: Float32Array): Uint8Array {
  let max = 0;
  for (const v of values) max = Math.max(max, v);
  const out = new Uint8Array(values.length * 3);
  values.forEach((v, i) => out.fill(Math.round((255 * v) / (max || 1)), i * 3, i * 3 + 3));
  return out;
}

/** The first Conv2D's filters, averaged over input channels, one tile each on one shared colour scale. */
function filterImage(model: Model, scale: number): { pixels: Uint8Array; width: number; height: number } | null {
  const index = model.layers.findIndex((l) => l instanceof Conv2D);
  if (index < 0) return null;
  const conv = model.layers[index] as Conv2D;
  const weights = model.getWeights()[model.params.indexOf(conv.kernel)].data;
  const [kh, kw] = conv.kernelSize;
  const cin = conv.kernel.shape[2], cout = conv.filters; // input channels per group
  const all = new Float32Array(cout * kh * kw);
  for (let o = 0; o < cout; o++)
    for (let p = 0; p < kh * kw; p++) {
      let s = 0;
      for (let i = 0; i < cin; i++) s += weights[(p * cin + i) * cout + o];
      all[o * kh * kw + p] = s / cin;
    }
  const colours = divergingRgb(all);
  const tiles = Array.from({ length: cout }, (_, o) => colours.subarray(o * kh * kw * 3, (o + 1) * kh * kw * 3));
  return tileImages(tiles, kh, kw, { scale: Math.max(scale * 2, 8), gap: 2 });
}

async function writeImage(path: string, format: "png" | "svg", image: { pixels: Uint8Array; width: number; height: number }): Promise<void> {
  const bytes = format === "png" ? await encodePng(image.pixels, image.width, image.height, 3) : new TextEncoder().encode(rgbToSvg(image.pixels, image.width, image.height));
  writeFileAtomic(path, bytes);
}
