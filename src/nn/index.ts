// The PyTorch-style API: `import { nn, F, optim, DataLoader, TensorDataset } from "wasmgrad"`.
export * as nn from "./nn-namespace";
export * as F from "./functional";
export * as optim from "./optim";
export { DataLoader, TensorDataset } from "./data";
