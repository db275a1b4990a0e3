// The softmax of dot-product attention, with its scale and masks fused: scores [batch, heads, tq, tk] (one
// row per query, one column per key) become attention weights in one pass per row. The score GEMMs around
// it (Q·Kᵀ per head, weights·V per head) are the layer's (src/layers/multi-head-attention.ts), on strided
// views, so heads are never copied apart.
//
// Masks: keyMask f32 [batch, tk] (1 = a real key, 0 = padding; 0 = none) and causal (query i sees keys
// j ≤ i). A masked key gets weight exactly 0; a row with no key left gets all zeros (not the uniform row an
// additive −1e9 would give), so nothing flows from it. Backward is softmaxBackward (masked weights are 0,
// so their gradient is too) followed by the scale.

/**
 * y = softmax_j(scale·scores[b, h, i, j]) over the keys j that row i may see, 0 elsewhere. y may be scores.
 * The maximum is taken first (over visible keys), so no exponent overflows.
 */
export function attentionSoftmaxForward(
  scores: usize, batch: i32, heads: i32, tq: i32, tk: i32, scale: f32, keyMask: usize, causal: bool, y: usize,
): void {
  const rowBytes = <usize>tk << 2;
  for (let b = 0; b < batch; b++) {
    const mask = keyMask == 0 ? <usize>0 : keyMask + <usize>b * rowBytes;
    for (let h = 0; h < heads; h++)
      for (let i = 0; i < tq; i++) {
        const offset = ((<usize>(b * heads + h) * <usize>tq) + <usize>i) * rowBytes;
        softmaxRow(scores + offset, y + offset, causal ? min(i + 1, tk) : tk, tk, scale, mask);
      }
  }
}

/** One row: keys [0, visible) are candidates, those whose mask is 0 are out; keys from `visible` on are out. */
@inline function softmaxRow(s: usize, y: usize, visible: i32, tk: i32, scale: f32, mask: usize): void {
  let best: f32 = -Infinity;
  let any = false;
  for (let j = 0; j < visible; j++) {
    if (mask != 0 && load<f32>(mask + (<usize>j << 2)) == 0) continue;
    const v = load<f32>(s + (<usize>j << 2)) * scale;
    if (!any || v > best) best = v;
    any = true;
  }
  let sum: f32 = 0;
  for (let j = 0; j < tk; j++) {
    const off = <usize>j << 2;
    let e: f32 = 0;
    if (any && j < visible && (mask == 0 || load<f32>(mask + off) != 0)) e = Mathf.exp(load<f32>(s + off) * scale - best);
    store<f32>(y + off, e);
    sum += e;
  }
  if (!any) return;
  const inverse: f32 = 1 / sum;
  let j = 0;
  const r = f32x4.splat(inverse);
  for (; j + 4 <= tk; j += 4) v128.store(y + (<usize>j << 2), f32x4.mul(v128.load(y + (<usize>j << 2)), r));
  for (; j < tk; j++) store<f32>(y + (<usize>j << 2), load<f32>(y + (<usize>j << 2)) * inverse);
}
