// wasmgrad bench: training and inference throughput of the built-in models and GEMM GFLOPS, measured
// inside the executable on the embedded MNIST sample. bench/compare.ts sets these beside TensorFlow.js.

import { writeSync } from "node:fs";
import type { CAC } from "cac";
import { GEMM_SHAPES, measureGemm, measureInference, measureTraining } from "../../bench/measure";
import { kernelLibrary } from "../../engine/backend";
import { toFloatImages } from "../../data/image-dataset";
import { buildModel, recipeOf } from "../../model/model-file";
import { InputError } from "../../errors";
import { numberFlag } from "../options";
import { BUILTIN_MODELS } from "../embedded-assets";
import { resolveData, resolveModelFile } from "../sources";

export function registerBench(cli: CAC): void {
  cli
    .command("bench", "Measure training/inference samples/s and GEMM GFLOPS (warm-ups excluded)")
    .option("--models <list>", "Comma-separated built-in models", { default: "mlp,cnn" })
    .option("--batch-size <n>", "Training batch", { default: 64 })
    .option("--infer-batch <n>", "Inference batch", { default: 256 })
    .option("--no-gemm", "Skip the GEMM measurements")
    .option("--json", "Print JSON")
    .action(async (flags: { models: string; batchSize: unknown; inferBatch: unknown; gemm: boolean; json?: boolean }) => {
      const batchSize = numberFlag(flags.batchSize, "batch-size", { min: 1, max: 8192, integer: true });
      const inferBatch = numberFlag(flags.inferBatch, "infer-batch", { min: 1, max: 8192, integer: true });
      const names = String(flags.models).split(",").map((s) => s.trim()).filter(Boolean);
      for (const name of names) if (!BUILTIN_MODELS[name]) throw new InputError(`--models: '${name}' is not a built-in model (${Object.keys(BUILTIN_MODELS).join(", ")})`);
      const log = (line: string) => writeSync(2, line + "\n");
      const data = await resolveData("embedded");
      const x = toFloatImages(data.train);
      const result: Record<string, unknown> = {
        runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`,
        kernels: kernelLibrary().variant,
        data: data.source,
        trainBatch: batchSize,
        inferBatch,
        models: {} as Record<string, unknown>,
      };
      for (const name of names) {
        const { file, source } = resolveModelFile(name);
        const model = buildModel(file, source, { seed: 1 });
        const recipe = recipeOf(file);
        model.compile({ optimizer: { type: "adam", learningRate: 0.001 }, loss: recipe.loss, metrics: [] });
        log(`bench ${name}: training one epoch at batch ${batchSize}…`);
        const train = await measureTraining(model, x, data.train.labels, batchSize);
        const infer = measureInference(model, x, data.train.count, inferBatch);
        (result.models as Record<string, unknown>)[name] = { trainSamplesPerSec: train.samplesPerSec, inferSamplesPerSec: infer, warmupSteps: train.warmupSteps, chunks: train.chunks };
        log(`  train ${Math.round(train.samplesPerSec)} samples/s, infer ${Math.round(infer)} samples/s`);
      }
      if (flags.gemm) {
        result.gemm = GEMM_SHAPES.map((shape) => ({ ...shape, gflops: measureGemm(shape) }));
        for (const g of result.gemm as { name: string; gflops: number }[]) log(`  gemm ${g.name}: ${g.gflops.toFixed(1)} GFLOPS`);
      }
      if (flags.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
    });
}
