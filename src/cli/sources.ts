// Resolving what the user named on the command line: a model (built-in name or JSON file), a dataset
// (the embedded sample or a folder of IDX files), a checkpoint. Every file goes through the one reader for
// user files (src/io/user-file.ts), and every name is shown escaped (src/io/display.ts).

import { existsSync } from "node:fs";
import { InputError, didYouMean } from "../errors";
import { loadImageDirectory } from "../data/files";
import type { ImageSplits } from "../data/image-dataset";
import { displayText } from "../io/display";
import { readUserFile, readUserText, requirePath } from "../io/user-file";
import { decodeCheckpoint } from "../model/checkpoint";
import { parseModelJson, validateModelFile, type ModelFile } from "../model/model-file";
import type { Model } from "../model/model";
import { BUILTIN_MODELS, embeddedMnistSample } from "./embedded-assets";
import { nonFiniteAllowed } from "./input-policy";

export function resolveModelFile(nameOrPath: string): { file: ModelFile; source: string } {
  requirePath(nameOrPath, "--model");
  // Own keys only: "constructor" or "__proto__" is not a built-in model.
  if (Object.hasOwn(BUILTIN_MODELS, nameOrPath)) return { file: validateModelFile(BUILTIN_MODELS[nameOrPath], `built-in model ${nameOrPath}`), source: `built-in model ${nameOrPath}` };
  if (!nameOrPath.endsWith(".json") && !existsSync(nameOrPath)) {
    throw new InputError(`unknown model '${displayText(nameOrPath)}'${didYouMean(nameOrPath, Object.keys(BUILTIN_MODELS))}; or give a path to a model .json file`);
  }
  const source = displayText(nameOrPath);
  return { file: parseModelJson(readUserText(nameOrPath, "model"), source), source };
}

export async function resolveData(data: string): Promise<ImageSplits> {
  return data === "embedded" ? embeddedMnistSample() : loadImageDirectory(data);
}

export function loadCheckpoint(path: string): Model {
  const bytes = readUserFile(requirePath(path, "the checkpoint"), "checkpoint");
  return decodeCheckpoint(bytes, displayText(path), { allowNonFinite: nonFiniteAllowed() }).model;
}

/** A file the user named, or one clear error: "cannot read --input x.npy: it does not exist". */
export function readInputFile(path: string, what: string): Uint8Array {
  return readUserFile(requirePath(path, what || "the input"), what);
}
