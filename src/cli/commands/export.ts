// wasmgrad export: a checkpoint (or a model file, untrained) as an ONNX file.

import type { CAC } from "cac";
import { exportOnnx } from "../../onnx/export";
import { decodeModel } from "../../onnx/onnx-proto";
import { checkSaveTarget, writeFileAtomic } from "../../io/atomic-file";
import { InputError } from "../../errors";
import { stringFlag } from "../options";
import { loadCheckpointWithText } from "../sources";
import { encodedNames } from "../../data/table-dataset";
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
      const { model, table } = loadCheckpointWithText(checkpoint);
      const bytes = exportOnnx(model, { producerVersion: version });
      writeFileAtomic(output, bytes);
      // Read the names back from what was written: "input"/"output" for one of each, the graph's own otherwise.
      const graph = decodeModel(bytes, output).graph;
      const tensors = (list: { name: string; shape?: (number | string)[] }[]) => list.map((t) => ({ name: t.name, shape: t.shape ?? [] }));
      const inputs = tensors(graph.inputs), outputs = tensors(graph.outputs);
      // A table model takes the encoded features (numbers as they are, a 0/1 per category): their order.
      const features = table ? encodedNames(table.columns) : undefined;
      const summary = { checkpoint, output, bytes: bytes.length, inputs, outputs, input: inputs[0].shape, output_shape: outputs[0].shape, opset: 13, ...(features ? { features, classNames: table!.classNames } : {}) };
      const show = (list: typeof inputs) => list.map((t) => `"${t.name}" [${t.shape.join(", ")}]`).join(", ");
      if (flags.json) writeOut(JSON.stringify(summary, null, 2) + "\n");
      else if (features) {
        const raw = table!.columns.every((c) => c.kind === "numeric") ? "the raw columns" : "a table's rows encoded (a 0/1 feature per category)";
        const standardised = model.layers[0]?.type === "Normalization" ? ", standardised inside the model," : "";
        const names = table!.classNames;
        const meaning = !names ? "" : outputs[0].shape.at(-1) === 1 ? ` (P(${displayText(names[1], 30)}))` : ` (${names.map((c) => displayText(c, 30)).join(", ")})`;
        writeOut(`wrote ${displayText(output)} (${bytes.length.toLocaleString("en-US")} bytes): input ${show(inputs)}, ${raw}${standardised} in this order: ${features.map((f) => displayText(f, 40)).join(", ")}; output ${show(outputs)}${meaning}, opset 13\n`);
      } else writeOut(`wrote ${displayText(output)} (${bytes.length.toLocaleString("en-US")} bytes): ${inputs.length === 1 ? "input" : "inputs"} ${show(inputs)} (images NHWC), ${outputs.length === 1 ? "output" : "outputs"} ${show(outputs)}, opset 13\n`);
    });
}
