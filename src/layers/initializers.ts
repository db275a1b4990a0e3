// Seeded weight initializers with Keras' definitions (fan-in/fan-out counted as Keras counts them, so a
// model initialised here starts where the same model in Keras or TF.js would, statistically).

import { InputError, didYouMean } from "../errors";
import type { Rng } from "../engine/rng";

export const INITIALIZERS = [
  "glorotUniform", "glorotNormal", "heUniform", "heNormal", "lecunNormal", "torchUniform", "torchRecurrent", "torchRecurrentBiasSum",
  "torchAttention", "randomUniform", "standardNormal", "orthogonal", "zeros", "ones",
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

/** What an initializer may need beyond the weight's shape. */
export interface InitializerContext {
  /** A recurrent layer's units (PyTorch's hidden_size), which the torchRecurrent initializers scale by. */
  units?: number;
  /**
   * PyTorch's (fan_in, fan_out) of the matrix a weight is part of, where the weight's own shape does not
   * tell them: MultiHeadAttention's query/key/value kernels are blocks of PyTorch's in_proj_weight [3E, E].
   */
  fans?: [number, number];
}

/** Accepts Keras (glorot_uniform) and TF.js (glorotUniform) spellings. */
export function parseInitializer(name: string, where: string): InitializerName {
  const wanted = name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
  const found = INITIALIZERS.find((n) => n.toLowerCase() === wanted.toLowerCase());
  if (!found) throw new InputError(`${where}: unknown initializer '${name}'${didYouMean(name, INITIALIZERS)}`);
  return found;
}

/**
 * Fills `out` for a weight of `shape`. For dense kernels [in, out]; for conv kernels [kh, kw, cin, cout],
 * where the receptive field multiplies both fans.
 */
export function initialize(out: Float32Array, shape: readonly number[], name: InitializerName, rng: Rng, context: InitializerContext = {}): void {
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const fanIn = shape.length >= 2 ? shape[shape.length - 2] * receptive : shape[0];
  const fanOut = shape.length >= 2 ? shape[shape.length - 1] * receptive : shape[0];
  // 0.8796… is the standard deviation of a unit normal truncated to ±2σ; Keras divides it out.
  const truncatedStd = 0.87962566103423978;
  switch (name) {
    case "zeros":
      out.fill(0);
      return;
    case "ones":
      out.fill(1);
      return;
    case "glorotUniform": {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
    case "torchUniform": {
      // PyTorch's default for Linear and Conv weights: kaiming_uniform(a = √5), i.e. U(±1/√fan_in).
      const limit = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
    case "torchRecurrent": {
      // PyTorch's nn.RNN/LSTM/GRU reset_parameters(): every weight and bias U(±1/√hidden_size), whatever its
      // shape (the input kernel [features, G·u] included), so the limit comes from the layer, not the fans.
      const limit = 1 / Math.sqrt(recurrentUnits(context, name));
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
    case "torchRecurrentBiasSum": {
      // PyTorch's b_ih + b_hh, for layers that hold the two as one bias (LSTM, SimpleRNN): the sum of two
      // independent U(±1/√hidden) draws, triangular on ±2/√hidden, so the function at initialisation is
      // distributed as PyTorch's.
      const limit = 1 / Math.sqrt(recurrentUnits(context, name));
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit) + rng.uniform(-limit, limit);
      return;
    }
    case "torchAttention": {
      // PyTorch's nn.MultiheadAttention: xavier_uniform_ (gain 1), U(±√(6 / (fan_in + fan_out))), over the
      // fans of PyTorch's matrix, which MultiHeadAttention passes (see its torchAttention kernels).
      const fans = context.fans;
      if (!fans || !fans.every((f) => Number.isInteger(f) && f > 0)) {
        throw new InputError(`initializer '${name}' is for MultiHeadAttention's kernels (PyTorch's nn.MultiheadAttention initialisation); this weight is not one`);
      }
      const limit = Math.sqrt(6 / (fans[0] + fans[1]));
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
    case "standardNormal":
      // N(0, 1): PyTorch's nn.Embedding weights.
      for (let i = 0; i < out.length; i++) out[i] = rng.normal();
      return;
    case "randomUniform":
      // Keras' RandomUniform defaults (minval −0.05, maxval 0.05): what Embedding starts from.
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-0.05, 0.05);
      return;
    case "heUniform": {
      const limit = Math.sqrt(6 / fanIn);
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-limit, limit);
      return;
    }
    case "orthogonal":
      orthogonal(out, shape[shape.length - 1], rng);
      return;
    case "glorotNormal":
    case "heNormal":
    case "lecunNormal": {
      const variance = name === "glorotNormal" ? 2 / (fanIn + fanOut) : name === "heNormal" ? 2 / fanIn : 1 / fanIn;
      const std = Math.sqrt(variance) / truncatedStd;
      for (let i = 0; i < out.length; i++) out[i] = std * rng.truncatedNormal();
      return;
    }
  }
}

function recurrentUnits(context: InitializerContext, name: string): number {
  const units = context.units;
  if (!Number.isInteger(units) || units! < 1) throw new InputError(`initializer '${name}' is for recurrent layers' weights (its scale is 1/√units); this weight is not one`);
  return units!;
}

/**
 * Keras' Orthogonal (gain 1), the default of recurrent kernels: a normal matrix viewed as [rows, cols]
 * (rows = the product of the leading axes) made orthonormal along its shorter side by Gram–Schmidt, which
 * is QR with diag(R) > 0, as Keras' sign correction makes it. A [u, 4u] recurrent kernel gets orthonormal rows.
 */
function orthogonal(out: Float32Array, cols: number, rng: Rng): void {
  const rows = out.length / cols;
  // Work on vectors along the longer side: columns when rows ≥ cols, else rows.
  const [count, length] = rows >= cols ? [cols, rows] : [rows, cols];
  const vectors = Array.from({ length: count }, () => Float64Array.from({ length }, () => rng.normal()));
  for (let k = 0; k < count; k++) {
    const v = vectors[k];
    for (let twice = 0; twice < 2; twice++) // a second pass restores orthogonality lost to rounding
      for (let j = 0; j < k; j++) {
        let dot = 0;
        for (let i = 0; i < length; i++) dot += v[i] * vectors[j][i];
        for (let i = 0; i < length; i++) v[i] -= dot * vectors[j][i];
      }
    const norm = Math.hypot(...v) || 1;
    for (let i = 0; i < length; i++) v[i] /= norm;
  }
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[r * cols + c] = rows >= cols ? vectors[c][r] : vectors[r][c];
}
