// wasmgrad export: a checkpoint (or a model file, untrained) as an ONNX file.

import type { CAC } from "cac";
import { exportOnnx } from "../../onnx/export";
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
      const summary = { checkpoint, output, bytes: bytes.length, input: ["batch", ...model.inputShape!], output_shape: ["batch", ...model.outputShape], opset: 13 };
      if (flags.json) writeOut(JSON.stringify(summary, null, 2) + "\n");
      else writeOut(`wrote ${displayText(output)} (${bytes.length.toLocaleString("en-US")} bytes): input "input" [batch, ${model.inputShape}] NHWC, output "output" [batch, ${model.outputShape}], opset 13\n`);
    });
}
