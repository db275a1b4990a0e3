// The operator table: ONNX op type → mapper. An operator missing here is refused by name, with this list.

import type { Mapper } from "../context";
import { constantNode, gather, isConstant, shapeOf, type Constant } from "../shape-folding";
import { activationLayer } from "./activations";
import { conv } from "./convolution";
import { gemm, matMul } from "./dense";
import { elementwise } from "./elementwise";
import { batchNormalization } from "./normalization";
import { averagePool, globalAveragePool, globalMaxPool, maxPool, reduceMean } from "./pooling";
import { convTranspose, resize, slice } from "./resampling";
import { cast, concat, dropout, flatten, identity, pad, reshape, squeeze, transpose, unsqueeze } from "./structure";

/** Operators that only fold constants (their inputs must all be known when importing). */
const onConstants = (what: string, fold: (r: Parameters<Mapper>[0], v: Constant) => Constant): Mapper => (r) => {
  const v = r.input(0);
  return isConstant(v) ? fold(r, v) : r.fail(`${what} of computed tensors is not supported (only of shapes and constants)`);
};

export function operatorTable(options: { fixedBatch?: number }): Record<string, Mapper> {
  return {
    Conv: conv,
    Gemm: gemm,
    MatMul: matMul,
    BatchNormalization: batchNormalization,
    MaxPool: maxPool,
    AveragePool: averagePool,
    GlobalAveragePool: globalAveragePool,
    GlobalMaxPool: globalMaxPool,
    ReduceMean: reduceMean,
    Relu: activationLayer,
    Sigmoid: activationLayer,
    Tanh: activationLayer,
    Softmax: activationLayer,
    Clip: activationLayer,
    LeakyRelu: activationLayer,
    Elu: activationLayer,
    HardSigmoid: activationLayer,
    HardSwish: activationLayer,
    Gelu: activationLayer,
    Add: elementwise,
    Sub: elementwise,
    Mul: elementwise,
    Div: elementwise,
    Sum: elementwise,
    Mean: elementwise,
    Max: elementwise,
    Min: elementwise,
    Concat: concat,
    Flatten: flatten,
    Reshape: (r) => reshape(r, options.fixedBatch),
    Transpose: transpose,
    Squeeze: squeeze,
    Unsqueeze: unsqueeze,
    Identity: identity,
    Dropout: dropout,
    Cast: cast,
    Pad: pad,
    Constant: constantNode,
    Shape: shapeOf,
    Gather: onConstants("Gather", gather),
    Slice: slice,
    ConvTranspose: convTranspose,
    Resize: resize,
    Upsample: resize,
  };
}

export const IMPORTABLE_OPS = Object.keys(operatorTable({}));
