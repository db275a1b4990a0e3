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
import { TextVectorizer } from "../data/text-vectorizer";
import type { TextPreprocessing } from "./training-data";
import type { NextCharTask } from "../data/next-char";
import { describeValue } from "../io/display";
import { checkTablePreprocessing, encodedWidth, type TablePreprocessing } from "../data/table-dataset";

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
  return loadCheckpointWithText(path).model;
}

/**
 * A checkpoint's model and, for a text model or a next-character model, its preprocessing (checked against
 * the model: a file that pairs a vocabulary with a model of other sizes is refused, not run).
 */
export function loadCheckpointWithText(path: string): { model: Model; text?: TextPreprocessing; nextChar?: NextCharTask; table?: TablePreprocessing } {
  const bytes = readUserFile(requirePath(path, "the checkpoint"), "checkpoint");
  const source = displayText(path);
  const { model, header } = decodeCheckpoint(bytes, source, { allowNonFinite: nonFiniteAllowed() });
  const language = header.preprocessing?.nextChar;
  if (language !== undefined) return { model, nextChar: checkNextChar(language, model, `${source}: next-character task`) };
  if (header.preprocessing?.table !== undefined) return { model, table: checkTable(header.preprocessing.table, model, `${source}: table preprocessing`) };
  const text = header.preprocessing?.text;
  if (text === undefined) return { model };
  return { model, text: checkText(text, model, `${source}: text preprocessing`) };
}

function checkText(raw: TextPreprocessing, model: Model, where: string): TextPreprocessing {
  const vectorizer = TextVectorizer.fromConfig(raw.vectorizer, where);
  const { classNames } = raw;
  if (!Array.isArray(classNames) || classNames.length < 2 || !classNames.every((c) => typeof c === "string")) throw new InputError(`${where}: the class names must be a list of at least two strings`);
  checkClassOutputs(classNames.length, model, where);
  if (vectorizer.outputShape.join() !== model.inputShape?.join()) {
    throw new InputError(`${where}: it makes inputs shaped [${vectorizer.outputShape}], the model takes [${model.inputShape}]`);
  }
  return { vectorizer: vectorizer.config, classNames };
}

/** A model classifying into `classes` has an output per class, or one (a sigmoid) for two. */
function checkClassOutputs(classes: number, model: Model, where: string): void {
  const outputs = model.outputShape.reduce((a, b) => a * b, 1);
  if (outputs !== classes && !(outputs === 1 && classes === 2)) throw new InputError(`${where}: ${classes} class names for a model with ${outputs} outputs`);
}

/** A file the user named, or one clear error: "cannot read --input x.npy: it does not exist". */
export function readInputFile(path: string, what: string): Uint8Array {
  return readUserFile(requirePath(path, what || "the input"), what);
}

function checkNextChar(raw: NextCharTask, model: Model, where: string): NextCharTask {
  const vectorizer = TextVectorizer.fromConfig(raw.vectorizer, where);
  if (!Number.isInteger(raw.context) || raw.context < 1 || model.inputShape?.join() !== String(raw.context)) {
    throw new InputError(`${where}: a context of ${describeValue(raw.context)} for a model that takes inputs shaped [${model.inputShape}]`);
  }
  const outputs = model.outputShape.reduce((a, b) => a * b, 1);
  if (outputs !== vectorizer.vocabularySize) throw new InputError(`${where}: ${vectorizer.vocabularySize} characters for a model with ${outputs} outputs`);
  return { vectorizer: vectorizer.config, context: raw.context };
}

/** A table's preprocessing, checked against the model: as many features as it takes, an output per class. */
function checkTable(raw: unknown, model: Model, where: string): TablePreprocessing {
  const table = checkTablePreprocessing(raw, where);
  const width = encodedWidth(table.columns);
  if (model.inputShape?.join() !== String(width)) throw new InputError(`${where}: its columns make ${width} features, the model takes inputs shaped [${model.inputShape}]`);
  if (table.classNames !== undefined) checkClassOutputs(table.classNames.length, model, where);
  return table;
}
