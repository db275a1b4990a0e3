// Element-wise activations and row-wise softmax. Backward passes take the forward *output* y, which the
// derivative of relu, sigmoid and tanh can be written in (relu: y > 0, sigmoid: y(1-y), tanh: 1-y²), so
// layers keep one buffer instead of two. The newer activations live in vector-activations.ts, including
// the four whose backward needs the input instead (activationBackwardFromInput).

import { ACT_HARD_SWISH, ACT_RELU, ACT_RELU6, ACT_SIGMOID, ACT_TANH, sigmoidScalar, tanhScalar } from "./activation-codes";
import { vectorActivationBackward, vectorActivationForward } from "./vector-activations";

/** y = f(x); y may equal x. alpha: leakyRelu's negative slope or elu's scale, ignored by the others. */
export function activationForward(act: i32, x: usize, y: usize, count: i32, alpha: f32): void {
  if (act == ACT_RELU) {
    const zero = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= count; i += 4) {
      const off = <usize>i << 2;
      v128.store(y + off, f32x4.max(v128.load(x + off), zero));
    }
    for (; i < count; i++) {
      const off = <usize>i << 2;
      const v = load<f32>(x + off);
      store<f32>(y + off, v > 0 ? v : 0);
    }
  } else if (act == ACT_SIGMOID) {
    for (let i = 0; i < count; i++) {
      const off = <usize>i << 2;
      store<f32>(y + off, sigmoidScalar(load<f32>(x + off)));
    }
  } else if (act == ACT_TANH) {
    for (let i = 0; i < count; i++) {
      const off = <usize>i << 2;
      store<f32>(y + off, tanhScalar(load<f32>(x + off)));
    }
  } else if (act >= ACT_RELU6 && act <= ACT_HARD_SWISH) {
    vectorActivationForward(act, x, y, count, alpha);
  } else if (x != y) {
    memory.copy(y, x, <usize>count << 2);
  }
}

/** dx = dy ⊙ f'(·) expressed through the forward output y; dx may equal dy. */
export function activationBackward(act: i32, y: usize, dy: usize, dx: usize, count: i32, alpha: f32): void {
  let i = 0;
  if (act == ACT_RELU) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= count; i += 4) {
      const off = <usize>i << 2;
      const positive = f32x4.gt(v128.load(y + off), zero);
      v128.store(dx + off, v128.and(v128.load(dy + off), positive));
    }
    for (; i < count; i++) {
      const off = <usize>i << 2;
      store<f32>(dx + off, load<f32>(y + off) > 0 ? load<f32>(dy + off) : 0);
    }
  } else if (act == ACT_SIGMOID) {
    const one = f32x4.splat(1);
    for (; i + 4 <= count; i += 4) {
      const off = <usize>i << 2;
      const v = v128.load(y + off);
      v128.store(dx + off, f32x4.mul(v128.load(dy + off), f32x4.mul(v, f32x4.sub(one, v))));
    }
    for (; i < count; i++) {
      const off = <usize>i << 2;
      const v = load<f32>(y + off);
      store<f32>(dx + off, load<f32>(dy + off) * v * (1 - v));
    }
  } else if (act == ACT_TANH) {
    const one = f32x4.splat(1);
    for (; i + 4 <= count; i += 4) {
      const off = <usize>i << 2;
      const v = v128.load(y + off);
      v128.store(dx + off, f32x4.mul(v128.load(dy + off), f32x4.sub(one, f32x4.mul(v, v))));
    }
    for (; i < count; i++) {
      const off = <usize>i << 2;
      const v = load<f32>(y + off);
      store<f32>(dx + off, load<f32>(dy + off) * (1 - v * v));
    }
  } else if (act >= ACT_RELU6 && act <= ACT_HARD_SWISH) {
    vectorActivationBackward(act, y, dy, dx, count, alpha);
  } else if (dx != dy) {
    memory.copy(dx, dy, <usize>count << 2);
  }
}

/** Row-wise softmax, max-shifted so exp never overflows; y may equal x. */
export function softmaxForward(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>(r * cols) << 2);
    const yr = y + (<usize>(r * cols) << 2);
    let peak = load<f32>(xr);
    for (let j = 1; j < cols; j++) peak = max(peak, load<f32>(xr + (<usize>j << 2)));
    let total: f32 = 0;
    for (let j = 0; j < cols; j++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>j << 2)) - peak);
      store<f32>(yr + (<usize>j << 2), e);
      total += e;
    }
    const inv: f32 = 1 / total;
    for (let j = 0; j < cols; j++) store<f32>(yr + (<usize>j << 2), load<f32>(yr + (<usize>j << 2)) * inv);
  }
}

/** Softmax Jacobian-vector product: dx_j = y_j (dy_j − Σ_k dy_k y_k); dx may equal dy. */
export function softmaxBackward(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const base = <usize>(r * cols) << 2;
    let dot: f32 = 0;
    for (let j = 0; j < cols; j++) {
      const off = base + (<usize>j << 2);
      dot += load<f32>(dy + off) * load<f32>(y + off);
    }
    for (let j = 0; j < cols; j++) {
      const off = base + (<usize>j << 2);
      store<f32>(dx + off, load<f32>(y + off) * (load<f32>(dy + off) - dot));
    }
  }
}
