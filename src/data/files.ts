// Loading the MNIST file layout from a directory (what Debian's dataset-fashion-mnist installs, and what
// the MNIST site distributes): {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors";
import { datasetFromIdx, type ImageSplits } from "./image-dataset";

function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  throw new InputError(`${dir}: missing ${stem}.gz (or ${stem}); expected the MNIST file layout`);
}

export async function loadImageDirectory(dir: string): Promise<ImageSplits> {
  if (!existsSync(dir)) throw new InputError(`data directory ${dir} does not exist`);
  const load = async (split: "train" | "t10k") => {
    const images = findFile(dir, `${split}-images-idx3-ubyte`);
    const labels = findFile(dir, `${split}-labels-idx1-ubyte`);
    return datasetFromIdx(readFileSync(images), readFileSync(labels), images, labels);
  };
  return { train: await load("train"), test: await load("t10k"), source: dir };
}
