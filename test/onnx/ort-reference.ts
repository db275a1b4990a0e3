// ONNX Runtime as the reference implementation in import tests: native onnxruntime-node (a devDependency,
// its CPU build ships in the package) where it is installed, else onnxruntime-web's WASM provider (one
// input only, through the runtime wrapper).

import { OnnxSession } from "../../src/onnx/runtime";

export interface Feed {
  name: string;
  shape: number[];
  data: ArrayLike<number>;
  /** int64 for ids the file declares so (an embedding lookup's input); float32 otherwise. */
  type?: "int64";
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
    const tensor = (f: Feed) => (f.type === "int64" ? new ortNode.Tensor("int64", BigInt64Array.from(Array.from(f.data, (v) => BigInt(v))), f.shape) : new ortNode.Tensor("float32", Float32Array.from(f.data), f.shape));
    const out = await session.run(Object.fromEntries(feeds.map((f) => [f.name, tensor(f)])));
    const results = session.outputNames.map((n) => out[n].data as Float32Array);
    await session.release();
    return results;
  }
  if (feeds.length !== 1 || feeds[0].type) throw new Error("onnxruntime-node is not installed, and the onnxruntime-web wrapper feeds one float input");
  const session = await OnnxSession.open(bytes, { provider: "wasm", source: "test.onnx" });
  const out = await session.run(Float32Array.from(feeds[0].data), feeds[0].shape);
  await session.release();
  return out.map((o) => o.data);
}
