// Resolving what the user named on the command line: a model (built-in name or JSON file), a dataset
// (the embedded sample or a folder of IDX files), a checkpoint.

import { existsSync, readFileSync } from "node:fs";
import { InputError, didYouMean } from "../errors";
import { loadImageDirectory } from "../data/files";
import type { ImageSplits } from "../data/image-dataset";
import { decodeCheckpoint } from "../model/checkpoint";
import { parseModelJson, validateModelFile, type ModelFile } from "../model/model-file";
import type { Model } from "../model/model";
import { BUILTIN_MODELS, embeddedMnistSample } from "./embedded-assets";

export function resolveModelFile(nameOrPath: string): { file: ModelFile; source: string } {
  const builtin = BUILTIN_MODELS[nameOrPath];
  if (builtin) return { file: validateModelFile(builtin, `built-in model ${nameOrPath}`), source: `built-in model ${nameOrPath}` };
  if (!nameOrPath.endsWith(".json") && !existsSync(nameOrPath)) {
    throw new InputError(`unknown model '${nameOrPath}'${didYouMean(nameOrPath, Object.keys(BUILTIN_MODELS))}; or give a path to a model .json file`);
  }
  return { file: parseModelJson(readText(nameOrPath), nameOrPath), source: nameOrPath };
}

export async function resolveData(data: string): Promise<ImageSplits> {
  return data === "embedded" ? embeddedMnistSample() : loadImageDirectory(data);
}

export function loadCheckpoint(path: string): Model {
  if (!existsSync(path)) throw new InputError(`checkpoint ${path} does not exist`);
  return decodeCheckpoint(readFileSync(path), path).model;
}

function readText(path: string): string {
  return new TextDecoder().decode(readInputFile(path, ""));
}

/** A file the user named, or one clear error: "cannot read --input x.npy: no such file". */
export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "it is a folder" : (error as Error).message;
    throw new InputError(`cannot read ${what ? `${what} ` : ""}${path}: ${why}`);
  }
}
