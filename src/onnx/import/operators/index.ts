// The operator table: ONNX op type → mapper. An operator missing here is refused by name, with this list.

import type { Mapper } from "../context";
import { constantNode, constantOfShape, shapeOf } from "../shape-folding";
import { activationLayer } from "./activations";
import { conv } from "./convolution";
import { gemm, matMul } from "./dense";
import { gather } from "./gather";
import { elementwise } from "./elementwise";
import { batchNormalization } from "./normalization";
import { layerNormalizationOp } from "./layer-normalization";
import { averagePool, globalAveragePool, globalMaxPool, maxPool, reduceMax, reduceMean } from "./pooling";
import { recurrent } from "./recurrent";
import { expand } from "./positions";
import { convTranspose, resize, slice } from "./resampling";
import { cast, concat, dropout, flatten, identity, pad, reshape, squeeze, transpose, unsqueeze } from "./structure";

export function operatorTable(options: { fixedBatch?: number }): Record<string, Mapper> {
  return {
    Conv: conv,
    Gemm: gemm,
    MatMul: matMul,
    BatchNormalization: batchNormalization,
    LayerNormalization: layerNormalizationOp,
    MaxPool: maxPool,
    AveragePool: averagePool,
    GlobalAveragePool: globalAveragePool,
    GlobalMaxPool: globalMaxPool,
    ReduceMean: reduceMean,
    ReduceMax: reduceMax,
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
    Gather: gather,
    ConstantOfShape: constantOfShape,
    Slice: slice,
    ConvTranspose: convTranspose,
    Resize: resize,
    Upsample: resize,
    Expand: expand,
    LSTM: recurrent,
    GRU: recurrent,
    RNN: recurrent,
  };
}

export const IMPORTABLE_OPS = Object.keys(operatorTable({}));
