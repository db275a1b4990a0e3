// The kernel module's exports: numeric kernels only. What to compute and when is decided in src/.
export { workspaceBytes, setWorkspace, heapBase } from "./workspace";
export { gemm } from "./gemm";
export { im2col, col2im } from "./convolution";
export { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward } from "./pooling";
export { batchNormStatistics, channelScaleShift, batchNormBackward } from "./normalization";
export { activationForward, activationBackward, softmaxForward, softmaxBackward } from "./activations";
export { activationBackwardFromInput } from "./vector-activations";
export { softmaxCrossEntropy, meanSquaredError, binaryCrossEntropy, sigmoidCrossEntropy } from "./losses";
export { sgdUpdate, sgdMomentumUpdate, adamUpdate, rmspropUpdate } from "./optimizers";
export { columnSums, sumOfSquares, axpy, multiply, dropoutMask, sumOfAbs, addL1Gradient } from "./reductions";
export { elementwise, scale, routeToWinner, copyRows, rowDots, scaleRows } from "./elementwise";
// Data movement (reshaping layers): permutation, padding, cropping, upsampling.
export { permute, zeroPad2d, crop2d } from "./movement";
export { upsampleNearestForward, upsampleNearestBackward, resizeBilinearForward, resizeBilinearBackward } from "./upsampling";
// Convolution variants: grouped/dilated/per-axis-stride patches, and depthwise convolution.
export { im2colGeneral, col2imGeneral } from "./convolution";
export { depthwiseConv2dForward, depthwiseConv2dBackwardInput, depthwiseConv2dBackwardFilter } from "./depthwise";
// Embeddings: gather by index, its scatter-add adjoint, the maskZero mask.
export { embeddingGather, embeddingScatterAdd, indexMask } from "./embedding";
// Global pooling over time with a mask (GlobalAveragePool1D, GlobalMaxPool1D).
export { sequenceMeanForward, sequenceMeanBackward, sequenceMaxForward, sequenceMaxBackward } from "./sequence-pooling";
// The Masking layer's mask.
export { maskWhereNotValue } from "./masking";
// Recurrent cells after their GEMMs: gates, state update and masks for SimpleRNN, LSTM and GRU.
export { lstmCellForward, lstmCellBackward, gruCellForward, gruCellBackward,
  gruResetBeforeForwardGates, gruResetBeforeForwardState, gruResetBeforeBackwardState, gruResetBeforeBackwardReset,
  rnnCellForward, rnnCellBackward } from "./recurrent";
// Attention: the scaled softmax over keys with padding and causal masks fused.
export { attentionSoftmaxForward } from "./attention";
// Layer normalisation: per-row statistics, the normalisation and its gradients (LayerNormalization, nn.LayerNorm).
export { layerNormForward, layerNormBackward } from "./layer-normalization";
// Batched small products on strided views (attention's per-head products, every head in one call).
export { batchedMatmul } from "./batched-matmul";
