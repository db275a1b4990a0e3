// wasmgrad summary: a model's layers, shapes, parameter counts and connections (Keras' model.summary()),
// from a checkpoint, a model file (a built-in name too) or an ONNX file, and with -o the graph as an SVG
// diagram (Keras' plot_model).

import type { CAC } from "cac";
import { InputError } from "../../errors";
import { writeFileAtomic } from "../../io/atomic-file";
import type { Model } from "../../model/model";
import { buildModel, tasksOf } from "../../model/model-file";
import { importOnnx } from "../../onnx/import";
import { graphDiagramSvg, type DiagramNode } from "../../viz/graph-diagram";
import { stringFlag } from "../options";
import { loadCheckpoint, readInputFile, resolveModelFile } from "../sources";

export function registerSummary(cli: CAC): void {
  cli
    .command("summary <model>", "Print a model's layers, output shapes, parameters and connections; draw its graph as SVG")
    .option("-o, --output <graph.svg>", "Also draw the graph (layers as boxes with their output shapes, arrows for tensors)")
    .option("--input-shape <dims>", "For a model file without an input shape: the per-sample shape, e.g. 28,28,1")
    .option("--json", "Print the layers as JSON")
    .example("wasmgrad summary resnet -o resnet.svg")
    .example("wasmgrad summary cnn.wgd")
    .example("wasmgrad summary model.onnx --json")
    .action((source: string, flags: { output?: string; inputShape?: string; json?: boolean }) => {
      const model = loadAnyModel(source, flags.inputShape);
      if (flags.output !== undefined) {
        const output = stringFlag(flags.output, "output");
        if (!output.endsWith(".svg")) throw new InputError(`--output ${output}: the diagram is SVG; name the file with the .svg extension`);
        writeFileAtomic(output, new TextEncoder().encode(graphDiagramSvg(diagramOf(model), `${model.name} — ${model.countParams().toLocaleString("en-US")} parameters`)));
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(describe(model), null, 2) + "\n");
        return;
      }
      process.stdout.write(`${model.name}\n${model.summary()}\n${flags.output ? `wrote ${flags.output}\n` : ""}`);
    });
}

function loadAnyModel(source: string, inputShape?: string): Model {
  if (source.endsWith(".wgd")) return loadCheckpoint(source);
  if (source.endsWith(".onnx")) return importOnnx(readInputFile(source, ""), { source });
  const { file, source: where } = resolveModelFile(source);
  const shape = inputShape === undefined ? undefined : String(inputShape).split(",").map((d) => Number(d));
  if (shape && !shape.every((d) => Number.isInteger(d) && d >= 1)) throw new InputError(`--input-shape ${inputShape}: give positive integers such as 28,28,1`);
  if (!shape && file.inputs === undefined && file.inputShape === undefined && file.defaults?.inputShape === undefined) {
    throw new InputError(`${where} takes its input shape from the data; give it with --input-shape, e.g. --input-shape 13`);
  }
  // A head that follows the task is shown for the file's default task, else the first it learns (two classes for a classifier).
  const task = file.defaults?.task ?? tasksOf(file)[0];
  // A regularizer given as scikit-learn's C scales with the training samples, which do not change the summary.
  return buildModel(file, where, shape ? { inputShape: shape, task, classes: file.defaults?.classes ?? 2, rows: 1 } : {});
}

function diagramOf(model: Model): DiagramNode[] {
  const plan = model.executionPlan;
  const nodes: DiagramNode[] = model.inputNames.map((name, i) => ({ title: name, detail: `Input [${plan.shapes[i]}]`, inputs: [] }));
  for (const step of plan.steps) {
    const shared = step.layer.sharesWeightsOf ? ", shared" : "";
    nodes.push({ title: step.nodeName, detail: `${step.layer.type}${shared} [${step.layer.outputShape}]`, inputs: [...step.inputs] });
  }
  return nodes;
}

function describe(model: Model) {
  const plan = model.executionPlan;
  return {
    name: model.name,
    params: model.countParams(),
    inputs: model.inputNames.map((name, i) => ({ name, shape: plan.shapes[i] })),
    layers: plan.steps.map((s) => ({
      name: s.nodeName, type: s.layer.type, outputShape: s.layer.outputShape,
      params: s.layer.sharesWeightsOf ? 0 : s.layer.params.reduce((n, p) => n + p.size, 0),
      ...(s.layer.sharesWeightsOf ? { shares: s.layer.sharesWeightsOf.name } : {}),
      inputs: s.inputs.map((t) => model.tensorName(t)),
    })),
    outputs: model.outputNames,
  };
}
