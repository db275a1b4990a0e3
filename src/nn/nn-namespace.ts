// What `nn.` offers: modules and losses, under PyTorch's names.
export {
  Module, Linear, Conv2d, MaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm, Dropout, Flatten, ReLU, Sigmoid, Tanh, Softmax,
  ReLU6, LeakyReLU, ELU, GELU, SiLU, Hardsigmoid, Hardswish,
  SequentialModule as Sequential, ModuleList, type Value,
  ConvTranspose2d, Conv1d, MaxPool1d, AvgPool1d, type LayerNormOptions,
} from "./modules";
export { Embedding, RNN, LSTM, GRU } from "./recurrent-modules";
export {
  MultiheadAttention, TransformerEncoderLayer, TransformerEncoder,
  type MultiheadAttentionOptions, type MultiheadAttentionCallOptions, type TransformerEncoderLayerOptions, type TransformerEncoderCallOptions,
} from "./attention-modules";
export { CrossEntropyLoss, NLLLoss, MSELoss, BCELoss, BCEWithLogitsLoss, LossValue } from "./losses";
