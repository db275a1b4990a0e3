// Loading the MNIST file layout from a directory (what Debian's dataset-fashion-mnist installs, and what
// the MNIST site distributes): {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz].

import { existsSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors";
import { displayText } from "../io/display";
import { readUserFile, requireFolder } from "../io/user-file";
import { datasetFromIdx, type ImageSplits } from "./image-dataset";

function findFile(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    // existsSync only stats: a folder or fifo under the expected name is then refused by the reader.
    if (existsSync(path)) return path;
  }
  throw new InputError(`${displayText(dir)}: missing ${stem}.gz (or ${stem}); expected the MNIST file layout`);
}

export async function loadImageDirectory(dir: string): Promise<ImageSplits> {
  requireFolder(dir, "--data");
  const load = async (split: "train" | "t10k") => {
    const images = findFile(dir, `${split}-images-idx3-ubyte`);
    const labels = findFile(dir, `${split}-labels-idx1-ubyte`);
    return datasetFromIdx(readUserFile(images, ""), readUserFile(labels, ""), displayText(images), displayText(labels));
  };
  return { train: await load("train"), test: await load("t10k"), source: displayText(dir) };
}
