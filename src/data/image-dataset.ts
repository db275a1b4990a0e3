// An image classification dataset (MNIST layout): uint8 pixels kept compact, converted to floats in [0, 1]
// when handed to a model.

import { InputError } from "../errors";
import { parseIdx } from "./idx";

export interface ImageDataset {
  /** count × height × width uint8 pixels. */
  pixels: Uint8Array;
  labels: Uint8Array;
  count: number;
  /** Per-sample shape, channels last: [28, 28, 1] for MNIST. */
  shape: [number, number, number];
}

export interface ImageSplits {
  train: ImageDataset;
  test: ImageDataset;
  source: string;
}

export async function datasetFromIdx(imageBytes: Uint8Array, labelBytes: Uint8Array, imageSource: string, labelSource: string): Promise<ImageDataset> {
  const images = await parseIdx(imageBytes, imageSource);
  const labels = await parseIdx(labelBytes, labelSource);
  if (images.dims.length !== 3) throw new InputError(`${imageSource}: expected images shaped [count, rows, cols], got [${images.dims}]`);
  if (labels.dims.length !== 1) throw new InputError(`${labelSource}: expected labels shaped [count], got [${labels.dims}]`);
  if (images.dims[0] !== labels.dims[0]) {
    throw new InputError(`${imageSource} holds ${images.dims[0]} images but ${labelSource} holds ${labels.dims[0]} labels`);
  }
  return { pixels: images.data, labels: labels.data, count: images.dims[0], shape: [images.dims[1], images.dims[2], 1] };
}

export function toFloatImages(ds: ImageDataset): Float32Array {
  let out: Float32Array;
  try {
    out = new Float32Array(ds.pixels.length);
  } catch {
    // A RangeError ("Out of memory", or past the engine's largest typed array): the data, not a bug.
    throw new InputError(`${ds.pixels.length.toLocaleString("en-US")} pixels need ${(ds.pixels.length * 4 / 2 ** 30).toFixed(2)} GiB as float32, more memory than could be allocated; use fewer images`);
  }
  for (let i = 0; i < out.length; i++) out[i] = ds.pixels[i] / 255;
  return out;
}

export function numClasses(ds: ImageDataset): number {
  let max = 0;
  for (const l of ds.labels) if (l > max) max = l;
  return max + 1;
}
