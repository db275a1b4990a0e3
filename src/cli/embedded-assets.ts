// Everything the standalone executable carries inside itself: both kernel builds, the MNIST sample and the
// model files. `bun build --compile` embeds files imported with { type: "file" }; at run time the import
// is a path into the executable's own file system, so this module is the one Bun-specific part.

import simdKernels from "../../build/kernels-simd.wasm" with { type: "file" };
import relaxedKernels from "../../build/kernels-relaxed.wasm" with { type: "file" };
import threadsSimdKernels from "../../build/kernels-threads-simd.wasm" with { type: "file" };
import threadsRelaxedKernels from "../../build/kernels-threads-relaxed.wasm" with { type: "file" };
import trainImages from "../../build/mnist-sample/train-images-idx3-ubyte.gz" with { type: "file" };
import trainLabels from "../../build/mnist-sample/train-labels-idx1-ubyte.gz" with { type: "file" };
import testImages from "../../build/mnist-sample/t10k-images-idx3-ubyte.gz" with { type: "file" };
import testLabels from "../../build/mnist-sample/t10k-labels-idx1-ubyte.gz" with { type: "file" };
import mlp from "../../models/mlp.json" with { type: "json" };
import mlp512 from "../../models/mlp512.json" with { type: "json" };
import cnn from "../../models/cnn.json" with { type: "json" };
import torchMlp from "../../models/torch_mlp.json" with { type: "json" };
import resnet from "../../models/resnet.json" with { type: "json" };
import linear from "../../models/linear.json" with { type: "json" };
import logistic from "../../models/logistic.json" with { type: "json" };
import textCnn from "../../models/text_cnn.json" with { type: "json" };
import textBilstm from "../../models/text_bilstm.json" with { type: "json" };
import bowLogistic from "../../models/bow_logistic.json" with { type: "json" };
import charMlp from "../../models/char_mlp.json" with { type: "json" };
import charLstm from "../../models/char_lstm.json" with { type: "json" };
import charTransformer from "../../models/char_transformer.json" with { type: "json" };
import { readFileSync } from "node:fs";
import { KernelLibrary, type KernelBinaries } from "../engine/wasm-kernels";
import { datasetFromIdx, type ImageSplits } from "../data/image-dataset";

export const BUILTIN_MODELS: Record<string, unknown> = {
  mlp, mlp512, cnn, resnet, torch_mlp: torchMlp, linear, logistic, text_cnn: textCnn, text_bilstm: textBilstm, bow_logistic: bowLogistic,
  char_mlp: charMlp, char_lstm: charLstm, char_transformer: charTransformer,
};

export function embeddedKernelBinaries(): KernelBinaries {
  return {
    simd: readFileSync(simdKernels), relaxedSimd: readFileSync(relaxedKernels),
    threadsSimd: readFileSync(threadsSimdKernels), threadsRelaxedSimd: readFileSync(threadsRelaxedKernels),
  };
}

/** Where `bun build --compile` puts the GEMM helper thread's script (a second entry point; package.json). */
export const EMBEDDED_GEMM_WORKER = "/$bunfs/root/src/engine/gemm-worker.js";

export function embeddedKernelLibrary(): KernelLibrary {
  return KernelLibrary.fromBinaries(embeddedKernelBinaries());
}

export async function embeddedMnistSample(): Promise<ImageSplits> {
  const load = (images: string, labels: string, name: string) =>
    datasetFromIdx(readFileSync(images), readFileSync(labels), `embedded ${name} images`, `embedded ${name} labels`);
  return { train: await load(trainImages, trainLabels, "train"), test: await load(testImages, testLabels, "test"), source: "embedded MNIST sample (8,000 train / 2,000 test)" };
}
