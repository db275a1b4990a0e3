// ONNX Runtime as the reference implementation in import tests: native onnxruntime-node (a devDependency,
// its CPU build ships in the package) where it is installed, else onnxruntime-web's WASM provider (one
// input only, through the runtime wrapper).

import { OnnxSession } from "../../src/onnx/runtime";

export interface Feed {
  name: string;
  shape: number[];
  data: ArrayLike<number>;
}

type OrtNode = typeof import("onnxruntime-node");
const ortNode: OrtNode | undefined = await import("onnxruntime-node").catch(() => undefined);
export const ORT_NAME = ortNode ? "ONNX Runtime (onnxruntime-node, native CPU)" : "ONNX Runtime (onnxruntime-web, WASM)";

/** Every output of the model for the feeds, in the graph's output order. */
export async function runOrt(bytes: Uint8Array, feeds: Feed[]): Promise<Float32Array[]> {
  if (ortNode) {
    // Unoptimized: ORT's Pad fusion folds a zero Pad into a following MaxPool, whose padding never wins a
    // max, which changes the result wherever a window's values are all negative.
    const session = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: "disabled" });
    const out = await session.run(Object.fromEntries(feeds.map((f) => [f.name, new ortNode.Tensor("float32", Float32Array.from(f.data), f.shape)])));
    const results = session.outputNames.map((n) => out[n].data as Float32Array);
    await session.release();
    return results;
  }
  if (feeds.length !== 1) throw new Error("onnxruntime-node is not installed, and the onnxruntime-web wrapper feeds one input");
  const session = await OnnxSession.open(bytes, { provider: "wasm", source: "test.onnx" });
  const out = await session.run(Float32Array.from(feeds[0].data), feeds[0].shape);
  await session.release();
  return out.map((o) => o.data);
}
