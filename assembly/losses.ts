// Losses return the batch-mean loss and write d(loss)/d(input) into `grad`, already divided by the batch
// (and, for element-wise losses, by the element count, matching Keras' mean over the last axis).

import { sigmoidScalar } from "./activation-codes";

/**
 * Softmax fused with cross-entropy on logits: grad = (softmax(z) − t) / rows. `labels` are class indices
 * (i32) when sparse, else `targets` holds a probability row per sample. probs receives softmax(z).
 */
export function softmaxCrossEntropy(
  logits: usize, rows: i32, cols: i32, labels: usize, targets: usize, probs: usize, grad: usize,
): f32 {
  let total: f64 = 0;
  const invRows: f32 = 1 / <f32>rows;
  for (let r = 0; r < rows; r++) {
    const base = <usize>(r * cols) << 2;
    let peak = load<f32>(logits + base);
    for (let j = 1; j < cols; j++) peak = max(peak, load<f32>(logits + base + (<usize>j << 2)));
    let sum: f32 = 0;
    for (let j = 0; j < cols; j++) {
      const off = base + (<usize>j << 2);
      const e = Mathf.exp(load<f32>(logits + off) - peak);
      store<f32>(probs + off, e);
      sum += e;
    }
    const logSum = Mathf.log(sum);
    const inv: f32 = 1 / sum;
    const label = labels != 0 ? load<i32>(labels + (<usize>r << 2)) : -1;
    for (let j = 0; j < cols; j++) {
      const off = base + (<usize>j << 2);
      const p = load<f32>(probs + off) * inv;
      store<f32>(probs + off, p);
      const t: f32 = labels != 0 ? (j == label ? 1 : 0) : load<f32>(targets + off);
      // −t·log p with log p = z − peak − log Σ, which stays finite even when p underflows to 0.
      if (t != 0) total -= <f64>(t * (load<f32>(logits + off) - peak - logSum));
      store<f32>(grad + off, (p - t) * invRows);
    }
  }
  return <f32>(total / <f64>rows);
}

/** Mean squared error: mean over all elements of (y − t)². */
export function meanSquaredError(y: usize, targets: usize, count: i32, grad: usize): f32 {
  let total: f64 = 0;
  const scale: f32 = 2 / <f32>count;
  for (let i = 0; i < count; i++) {
    const off = <usize>i << 2;
    const d = load<f32>(y + off) - load<f32>(targets + off);
    total += <f64>(d * d);
    store<f32>(grad + off, d * scale);
  }
  return <f32>(total / <f64>count);
}

/** Binary cross-entropy on probabilities, clipped to [ε, 1−ε] as Keras does (ε = 1e-7). */
export function binaryCrossEntropy(p: usize, targets: usize, count: i32, grad: usize): f32 {
  const eps: f32 = 1e-7;
  let total: f64 = 0;
  const inv: f32 = 1 / <f32>count;
  for (let i = 0; i < count; i++) {
    const off = <usize>i << 2;
    const raw = load<f32>(p + off);
    const q = min(max(raw, eps), 1 - eps);
    const t = load<f32>(targets + off);
    total -= <f64>(t * Mathf.log(q) + (1 - t) * Mathf.log(1 - q));
    // Inside the clip the derivative is (q − t)/(q(1 − q)); outside it the clip is flat.
    const inside = raw > eps && raw < 1 - eps;
    store<f32>(grad + off, inside ? ((q - t) / (q * (1 - q))) * inv : 0);
  }
  return <f32>(total / <f64>count);
}

/** Sigmoid fused with binary cross-entropy on logits: stable form max(z,0) − z·t + log(1 + e^−|z|). */
export function sigmoidCrossEntropy(z: usize, targets: usize, count: i32, probs: usize, grad: usize): f32 {
  let total: f64 = 0;
  const inv: f32 = 1 / <f32>count;
  for (let i = 0; i < count; i++) {
    const off = <usize>i << 2;
    const x = load<f32>(z + off);
    const t = load<f32>(targets + off);
    total += <f64>(max(x, 0) - x * t + Mathf.log(1 + Mathf.exp(-Mathf.abs(x))));
    const p = sigmoidScalar(x);
    store<f32>(probs + off, p);
    store<f32>(grad + off, (p - t) * inv);
  }
  return <f32>(total / <f64>count);
}
