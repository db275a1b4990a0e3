// Layer types by name, for model JSON files and checkpoints.

import { InputError, didYouMean } from "../errors";
import { Activation } from "./activation";
import { AveragePool2D, GlobalAveragePool2D } from "./average-pool2d";
import { BatchNormalization } from "./batch-normalization";
import { LayerNormalization } from "./layer-normalization";
import { Normalization } from "./normalization";
import { Conv1D } from "./conv1d";
import { Conv2D } from "./conv2d";
import { Conv2DTranspose } from "./conv2d-transpose";
import { DepthwiseConv2D } from "./depthwise-conv2d";
import { Dense } from "./dense";
import { Dropout } from "./dropout";
import { Embedding } from "./embedding";
import { Masking } from "./masking";
import { GRU } from "./gru";
import { LSTM } from "./lstm";
import { SimpleRNN } from "./simple-rnn";
import { Bidirectional } from "./bidirectional";
import { TimeDistributed } from "./time-distributed";
import { MultiHeadAttention } from "./multi-head-attention";
import { PositionEmbedding, SinePositionEncoding } from "./position-embedding";
import { Cropping1D } from "./cropping1d";
import { GlobalAveragePool1D, GlobalMaxPool1D } from "./global-pool1d";
import { ELU } from "./elu";
import { Flatten } from "./flatten";
import type { Layer } from "./layer";
import { LeakyReLU } from "./leaky-relu";
import { MaxPool2D } from "./max-pool2d";
import { AveragePool1D, MaxPool1D } from "./pool1d";
import { Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract } from "./merge";
// Data-movement layers.
import { Cropping2D } from "./cropping2d";
import { Permute } from "./permute";
import { Reshape } from "./reshape";
import { UpSampling2D } from "./up-sampling2d";
import { ZeroPadding2D } from "./zero-padding2d";
import { ReLU } from "./relu";
import { displayText } from "../io/display";
import { ownValue } from "../io/own-keys";

const FACTORIES: Record<string, (raw: Record<string, unknown>, where: string) => Layer> = {
  Dense: Dense.fromConfig,
  Conv2D: Conv2D.fromConfig,
  MaxPool2D: MaxPool2D.fromConfig,
  AveragePool2D: AveragePool2D.fromConfig,
  GlobalAveragePool2D: GlobalAveragePool2D.fromConfig,
  BatchNormalization: BatchNormalization.fromConfig,
  LayerNormalization: LayerNormalization.fromConfig,
  Normalization: Normalization.fromConfig,
  Flatten: Flatten.fromConfig,
  Dropout: Dropout.fromConfig,
  Activation: Activation.fromConfig,
  Add: Add.fromConfig,
  Subtract: Subtract.fromConfig,
  Multiply: Multiply.fromConfig,
  Average: Average.fromConfig,
  Maximum: Maximum.fromConfig,
  Minimum: Minimum.fromConfig,
  Concatenate: Concatenate.fromConfig,
  Dot: Dot.fromConfig,
  // Data-movement layers.
  Reshape: Reshape.fromConfig,
  Permute: Permute.fromConfig,
  ZeroPadding2D: ZeroPadding2D.fromConfig,
  Cropping2D: Cropping2D.fromConfig,
  UpSampling2D: UpSampling2D.fromConfig,
  // Keras' activation layers with a parameter.
  ReLU: ReLU.fromConfig,
  LeakyReLU: LeakyReLU.fromConfig,
  ELU: ELU.fromConfig,
  // Convolution variants.
  DepthwiseConv2D: DepthwiseConv2D.fromConfig,
  Conv2DTranspose: Conv2DTranspose.fromConfig,
  // Sequences.
  Embedding: Embedding.fromConfig,
  GlobalAveragePool1D: GlobalAveragePool1D.fromConfig,
  GlobalMaxPool1D: GlobalMaxPool1D.fromConfig,
  Masking: Masking.fromConfig,
  SimpleRNN: SimpleRNN.fromConfig,
  LSTM: LSTM.fromConfig,
  GRU: GRU.fromConfig,
  Bidirectional: (raw, where) => Bidirectional.fromConfig(raw, where, layerFromConfig),
  TimeDistributed: (raw, where) => TimeDistributed.fromConfig(raw, where, layerFromConfig),
  // Attention.
  MultiHeadAttention: MultiHeadAttention.fromConfig,
  PositionEmbedding: PositionEmbedding.fromConfig,
  SinePositionEncoding: SinePositionEncoding.fromConfig,
  Cropping1D: Cropping1D.fromConfig,
  Conv1D: Conv1D.fromConfig,
  MaxPool1D: MaxPool1D.fromConfig,
  AveragePool1D: AveragePool1D.fromConfig,
};

/** Keras spellings that mean the same layer. */
const ALIASES: Record<string, string> = {
  MaxPooling2D: "MaxPool2D",
  Convolution2D: "Conv2D",
  AveragePooling2D: "AveragePool2D",
  AvgPool2D: "AveragePool2D",
  GlobalAveragePooling2D: "GlobalAveragePool2D",
  BatchNorm: "BatchNormalization",
  LayerNorm: "LayerNormalization",
  Concat: "Concatenate",
  // Convolution variants.
  DepthwiseConvolution2D: "DepthwiseConv2D",
  Deconvolution2D: "Conv2DTranspose",
  Convolution2DTranspose: "Conv2DTranspose",
  Deconv2D: "Conv2DTranspose",
  // Sequences.
  GlobalAveragePooling1D: "GlobalAveragePool1D",
  GlobalMaxPooling1D: "GlobalMaxPool1D",
  Convolution1D: "Conv1D",
  MaxPooling1D: "MaxPool1D",
  AveragePooling1D: "AveragePool1D",
  AvgPool1D: "AveragePool1D",
};

export const LAYER_TYPES = Object.keys(FACTORIES);

export function layerFromConfig(raw: unknown, where: string): Layer {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new InputError(`${where}: a layer must be a JSON object like {"type": "Dense", "units": 10}`);
  }
  const config = raw as Record<string, unknown>;
  if (typeof config.type !== "string") throw new InputError(`${where}: the layer has no "type"`);
  // Own keys only: a type named "constructor" or "__proto__" must not find Object.prototype's members.
  const type = ownValue(ALIASES, config.type) ?? config.type;
  const factory = ownValue(FACTORIES, type);
  if (!factory) throw new InputError(`${where}: unknown layer type '${displayText(config.type)}'${didYouMean(config.type, LAYER_TYPES)}`);
  if (config.name !== undefined && typeof config.name !== "string") throw new InputError(`${where}: "name" must be a string`);
  // "trainable": false (a frozen layer, for fine-tuning) applies to every layer type.
  const { trainable, ...options } = config;
  if (trainable !== undefined && typeof trainable !== "boolean") throw new InputError(`${where}: "trainable" must be true or false`);
  const layer = factory({ ...options, type }, `${where} (${type})`);
  layer.trainable = trainable ?? true;
  return layer;
}
