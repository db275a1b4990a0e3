// wasmgrad export: a checkpoint (or a model file, untrained) as an ONNX file.

import type { CAC } from "cac";
import { exportOnnx } from "../../onnx/export";
import { decodeModel } from "../../onnx/onnx-proto";
import { checkSaveTarget, writeFileAtomic } from "../../io/atomic-file";
import { InputError } from "../../errors";
import { stringFlag } from "../options";
import { loadCheckpoint } from "../sources";
import { displayText } from "../../io/display";
import { writeOut } from "../output";

export function registerExport(cli: CAC, version: string): void {
  cli
    .command("export <checkpoint>", "Write a trained model as ONNX (opset 13, dynamic batch) for ONNX Runtime, PyTorch, Triton …")
    .option("-o, --output <file.onnx>", "Where to write the ONNX file")
    .option("--json", "Print a JSON summary")
    .example("wasmgrad export cnn.wgd -o cnn.onnx")
    .action((checkpoint: string, flags: { output?: string; json?: boolean }) => {
      const output = stringFlag(flags.output, "output");
      if (!output.endsWith(".onnx")) throw new InputError(`--output ${displayText(output)}: name the file with the .onnx extension`);
      checkSaveTarget(output);
      const model = loadCheckpoint(checkpoint);
      const bytes = exportOnnx(model, { producerVersion: version });
      writeFileAtomic(output, bytes);
      // Read the names back from what was written: "input"/"output" for one of each, the graph's own otherwise.
      const graph = decodeModel(bytes, output).graph;
      const tensors = (list: { name: string; shape?: (number | string)[] }[]) => list.map((t) => ({ name: t.name, shape: t.shape ?? [] }));
      const inputs = tensors(graph.inputs), outputs = tensors(graph.outputs);
      const summary = { checkpoint, output, bytes: bytes.length, inputs, outputs, input: inputs[0].shape, output_shape: outputs[0].shape, opset: 13 };
      const show = (list: typeof inputs) => list.map((t) => `"${t.name}" [${t.shape.join(", ")}]`).join(", ");
      if (flags.json) writeOut(JSON.stringify(summary, null, 2) + "\n");
      else writeOut(`wrote ${displayText(output)} (${bytes.length.toLocaleString("en-US")} bytes): ${inputs.length === 1 ? "input" : "inputs"} ${show(inputs)} (images NHWC), ${outputs.length === 1 ? "output" : "outputs"} ${show(outputs)}, opset 13\n`);
    });
}
