// The plain-TypeScript reference for every kernel: naive loops, no blocking, no SIMD, f64 accumulation
// where a sum is long. It is the yardstick the WebAssembly kernels are tested against, and a slow but
// complete backend in its own right (Sequential accepts it), so a model can be cross-checked end to end.

import { Act, type Kernels, type Pointer } from "./kernels";
import { activate, slopeFromInput, slopeFromOutput } from "./reference-activations";

const INITIAL_PAGES = 16;
const MAXIMUM_PAGES = 65536;

export function createReferenceKernels(): Kernels {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES });
  const f32 = (ptr: Pointer, count: number) => new Float32Array(memory.buffer, ptr, count);
  const i32 = (ptr: Pointer, count: number) => new Int32Array(memory.buffer, ptr, count);
  const all = () => new Float32Array(memory.buffer);
  const at = (ptr: Pointer) => ptr >> 2;

  return {
    variant: "reference",
    memory,
    heapBase: () => 1024,
    workspaceBytes: () => 0,
    setWorkspace: () => {},

    gemm(m, n, k, a, ars, acs, b, brs, bcs, c, ldc, accumulate, bias, act) {
      const mem = all();
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = 0;
          for (let p = 0; p < k; p++) sum += mem[at(a) + i * ars + p * acs] * mem[at(b) + p * brs + j * bcs];
          const ci = at(c) + i * ldc + j;
          let v = (accumulate ? mem[ci] : 0) + sum;
          if (bias !== 0) v += mem[at(bias) + j];
          mem[ci] = activate(v, act);
        }
      }
    },

    im2col(x, n, h, w, c, kh, kw, stride, padTop, padLeft, oh, ow, col) {
      const mem = all();
      let dst = at(col);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++)
                for (let ch = 0; ch < c; ch++) {
                  const iy = oy * stride - padTop + ky;
                  const ix = ox * stride - padLeft + kx;
                  const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                  mem[dst++] = inside ? mem[at(x) + ((img * h + iy) * w + ix) * c + ch] : 0;
                }
    },

    col2im(col, n, h, w, c, kh, kw, stride, padTop, padLeft, oh, ow, dx) {
      const mem = all();
      mem.fill(0, at(dx), at(dx) + n * h * w * c);
      let src = at(col);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ky = 0; ky < kh; ky++)
              for (let kx = 0; kx < kw; kx++)
                for (let ch = 0; ch < c; ch++) {
                  const iy = oy * stride - padTop + ky;
                  const ix = ox * stride - padLeft + kx;
                  const v = mem[src++];
                  if (iy >= 0 && iy < h && ix >= 0 && ix < w) mem[at(dx) + ((img * h + iy) * w + ix) * c + ch] += v;
                }
    },

    // ---- convolution variants (grouped, dilated, per-axis strides; depthwise) ----
    im2colGeneral(x, n, h, w, c, groups, kh, kw, sh, sw, dh, dw, padTop, padLeft, oh, ow, col) {
      const mem = all();
      const cg = c / groups;
      let dst = at(col);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let g = 0; g < groups; g++)
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++)
                  for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
                    const iy = oy * sh - padTop + ky * dh;
                    const ix = ox * sw - padLeft + kx * dw;
                    const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
                    mem[dst++] = inside ? mem[at(x) + ((img * h + iy) * w + ix) * c + ch] : 0;
                  }
    },

    col2imGeneral(col, n, h, w, c, groups, kh, kw, sh, sw, dh, dw, padTop, padLeft, oh, ow, dx) {
      const mem = all();
      const cg = c / groups;
      mem.fill(0, at(dx), at(dx) + n * h * w * c);
      let src = at(col);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let g = 0; g < groups; g++)
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++)
                  for (let ch = g * cg; ch < (g + 1) * cg; ch++) {
                    const iy = oy * sh - padTop + ky * dh;
                    const ix = ox * sw - padLeft + kx * dw;
                    const v = mem[src++];
                    if (iy >= 0 && iy < h && ix >= 0 && ix < w) mem[at(dx) + ((img * h + iy) * w + ix) * c + ch] += v;
                  }
    },

    depthwiseConv2dForward(x, n, h, w, c, m, kh, kw, sh, sw, dh, dw, padTop, padLeft, oh, ow, kernel, bias, y) {
      const mem = all();
      const cout = c * m;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let o = 0; o < cout; o++) {
              const ch = Math.floor(o / m);
              let sum = bias !== 0 ? mem[at(bias) + o] : 0;
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * sh - padTop + ky * dh, ix = ox * sw - padLeft + kx * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  sum += mem[at(x) + ((img * h + iy) * w + ix) * c + ch] * mem[at(kernel) + (ky * kw + kx) * cout + o];
                }
              mem[at(y) + ((img * oh + oy) * ow + ox) * cout + o] = sum;
            }
    },

    depthwiseConv2dBackwardInput(dy, n, h, w, c, m, kh, kw, sh, sw, dh, dw, padTop, padLeft, oh, ow, kernel, dx) {
      // The plain scatter (the transpose of the forward loop), summed in f64 and rounded once.
      const mem = all();
      const cout = c * m;
      const sums = new Float64Array(n * h * w * c);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let o = 0; o < cout; o++) {
              const ch = Math.floor(o / m);
              const g = mem[at(dy) + ((img * oh + oy) * ow + ox) * cout + o];
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * sh - padTop + ky * dh, ix = ox * sw - padLeft + kx * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  sums[((img * h + iy) * w + ix) * c + ch] += g * mem[at(kernel) + (ky * kw + kx) * cout + o];
                }
            }
      f32(dx, sums.length).set(sums);
    },

    depthwiseConv2dBackwardFilter(x, dy, n, h, w, c, m, kh, kw, sh, sw, dh, dw, padTop, padLeft, oh, ow, dkernel) {
      const mem = all();
      const cout = c * m;
      const sums = new Float64Array(kh * kw * cout);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let o = 0; o < cout; o++) {
              const ch = Math.floor(o / m);
              const g = mem[at(dy) + ((img * oh + oy) * ow + ox) * cout + o];
              for (let ky = 0; ky < kh; ky++)
                for (let kx = 0; kx < kw; kx++) {
                  const iy = oy * sh - padTop + ky * dh, ix = ox * sw - padLeft + kx * dw;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  sums[(ky * kw + kx) * cout + o] += g * mem[at(x) + ((img * h + iy) * w + ix) * c + ch];
                }
            }
      f32(dkernel, sums.length).set(sums);
    },
    // ---- end of convolution variants ----

    maxPoolForward(x, n, h, w, c, ph, pw, stride, padTop, padLeft, oh, ow, y, argmax) {
      const mem = all();
      const idx = i32(argmax, n * oh * ow * c);
      let out = 0;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              let best = -Infinity;
              let bestIndex = -1;
              for (let ky = 0; ky < ph; ky++)
                for (let kx = 0; kx < pw; kx++) {
                  const iy = oy * stride - padTop + ky;
                  const ix = ox * stride - padLeft + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const index = ((img * h + iy) * w + ix) * c + ch;
                  const v = mem[at(x) + index];
                  if (bestIndex < 0 || !(v <= best)) {
                    best = v;
                    bestIndex = index;
                  }
                }
              mem[at(y) + out] = best;
              if (argmax !== 0) idx[out] = bestIndex;
              out++;
            }
    },

    maxPoolBackward(dy, argmax, outputSize, dx, inputSize) {
      const mem = all();
      const idx = i32(argmax, outputSize);
      mem.fill(0, at(dx), at(dx) + inputSize);
      for (let i = 0; i < outputSize; i++) if (idx[i] >= 0) mem[at(dx) + idx[i]] += mem[at(dy) + i];
    },

    avgPoolForward(x, n, h, w, c, ph, pw, stride, padTop, padLeft, oh, ow, y) {
      const mem = all();
      let out = 0;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              let sum = 0, count = 0;
              for (let ky = 0; ky < ph; ky++)
                for (let kx = 0; kx < pw; kx++) {
                  const iy = oy * stride - padTop + ky, ix = ox * stride - padLeft + kx;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  sum += mem[at(x) + ((img * h + iy) * w + ix) * c + ch];
                  count++;
                }
              mem[at(y) + out++] = count > 0 ? sum / count : 0;
            }
    },

    avgPoolBackward(dy, n, h, w, c, ph, pw, stride, padTop, padLeft, oh, ow, dx) {
      const mem = all();
      mem.fill(0, at(dx), at(dx) + n * h * w * c);
      let out = 0;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              const inside: number[] = [];
              for (let ky = 0; ky < ph; ky++)
                for (let kx = 0; kx < pw; kx++) {
                  const iy = oy * stride - padTop + ky, ix = ox * stride - padLeft + kx;
                  if (iy >= 0 && iy < h && ix >= 0 && ix < w) inside.push(((img * h + iy) * w + ix) * c + ch);
                }
              const g = mem[at(dy) + out++];
              for (const index of inside) mem[at(dx) + index] += g / inside.length;
            }
    },

    batchNormStatistics(x, rows, channels, mean, variance) {
      const xs = f32(x, rows * channels), m = f32(mean, channels), v = f32(variance, channels);
      for (let ch = 0; ch < channels; ch++) {
        let sum = 0;
        for (let r = 0; r < rows; r++) sum += xs[r * channels + ch];
        const mu = sum / rows;
        let sq = 0;
        for (let r = 0; r < rows; r++) sq += (xs[r * channels + ch] - mu) ** 2;
        m[ch] = mu;
        v[ch] = sq / rows;
      }
    },

    channelScaleShift(x, rows, channels, scale, shift, y) {
      const xs = f32(x, rows * channels), ys = f32(y, rows * channels), a = f32(scale, channels), b = f32(shift, channels);
      for (let r = 0; r < rows; r++) for (let ch = 0; ch < channels; ch++) ys[r * channels + ch] = xs[r * channels + ch] * a[ch] + b[ch];
    },

    batchNormBackward(x, dy, rows, channels, mean, invStd, gamma, dgamma, dbeta, dx) {
      const n = rows * channels;
      const xs = f32(x, n), dys = f32(dy, n), dxs = f32(dx, n);
      const m = f32(mean, channels), s = f32(invStd, channels), g = f32(gamma, channels), dg = f32(dgamma, channels), db = f32(dbeta, channels);
      for (let ch = 0; ch < channels; ch++) {
        let sumDy = 0, sumDyXhat = 0;
        for (let r = 0; r < rows; r++) {
          const i = r * channels + ch;
          sumDy += dys[i];
          sumDyXhat += dys[i] * (xs[i] - m[ch]) * s[ch];
        }
        db[ch] = sumDy;
        dg[ch] = sumDyXhat;
        for (let r = 0; r < rows; r++) {
          const i = r * channels + ch;
          const xhat = (xs[i] - m[ch]) * s[ch];
          dxs[i] = g[ch] * s[ch] * (dys[i] - sumDy / rows - xhat * sumDyXhat / rows);
        }
      }
    },

    // Layer normalisation in f64 from the f32 inputs: the exact mean, the two-pass variance, y rounded once.
    // epsilon is rounded to f32 as the wasm kernel's f32 argument is.
    layerNormForward(x, rows, cols, gamma, beta, epsilon, y, mean, invStd) {
      const xs = f32(x, rows * cols), ys = f32(y, rows * cols), m = f32(mean, rows), s = f32(invStd, rows);
      const g = gamma === 0 ? undefined : f32(gamma, cols), b = beta === 0 ? undefined : f32(beta, cols);
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += xs[r * cols + c];
        const mu = sum / cols;
        let sq = 0;
        for (let c = 0; c < cols; c++) sq += (xs[r * cols + c] - mu) ** 2;
        const inv = 1 / Math.sqrt(sq / cols + Math.fround(epsilon));
        m[r] = mu;
        s[r] = inv;
        for (let c = 0; c < cols; c++) ys[r * cols + c] = (xs[r * cols + c] - mu) * inv * (g ? g[c] : 1) + (b ? b[c] : 0);
      }
    },

    layerNormBackward(x, dy, rows, cols, gamma, mean, invStd, dx, dgamma, dbeta) {
      const n = rows * cols;
      const xs = f32(x, n), dys = f32(dy, n), m = f32(mean, rows), s = f32(invStd, rows);
      const g = gamma === 0 ? undefined : f32(gamma, cols);
      const dg = new Float64Array(cols), db = new Float64Array(cols);
      const out = new Float64Array(n);
      for (let r = 0; r < rows; r++) {
        let sumG = 0, sumGX = 0;
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c, xhat = (xs[i] - m[r]) * s[r], gi = dys[i] * (g ? g[c] : 1);
          sumG += gi;
          sumGX += gi * xhat;
          dg[c] += dys[i] * xhat;
          db[c] += dys[i];
        }
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c, xhat = (xs[i] - m[r]) * s[r], gi = dys[i] * (g ? g[c] : 1);
          out[i] = s[r] * (gi - sumG / cols - xhat * (sumGX / cols));
        }
      }
      // Written only now: dx may be dy.
      if (dx !== 0) f32(dx, n).set(out);
      if (dgamma !== 0) f32(dgamma, cols).set(dg);
      if (dbeta !== 0) f32(dbeta, cols).set(db);
    },

    // alpha is rounded to f32 as the wasm kernels' f32 argument is, so both compute with one parameter.
    activationForward(act, x, y, count, alpha = NaN) {
      const xs = f32(x, count), ys = f32(y, count), a = Math.fround(alpha);
      for (let i = 0; i < count; i++) ys[i] = activate(xs[i], act, a);
    },

    activationBackward(act, y, dy, dx, count, alpha = NaN) {
      const ys = f32(y, count), dys = f32(dy, count), dxs = f32(dx, count), a = Math.fround(alpha);
      for (let i = 0; i < count; i++) dxs[i] = dys[i] * slopeFromOutput(ys[i], act, a);
    },

    activationBackwardFromInput(act, x, dy, dx, count) {
      const xs = f32(x, count), dys = f32(dy, count), dxs = f32(dx, count);
      for (let i = 0; i < count; i++) dxs[i] = dys[i] * slopeFromInput(xs[i], act);
    },

    softmaxForward(x, y, rows, cols) {
      const xs = f32(x, rows * cols), ys = f32(y, rows * cols);
      for (let r = 0; r < rows; r++) {
        const row = xs.subarray(r * cols, (r + 1) * cols);
        const peak = Math.max(...row);
        const exps = Array.from(row, (v) => Math.exp(v - peak));
        const total = exps.reduce((s, e) => s + e, 0);
        for (let j = 0; j < cols; j++) ys[r * cols + j] = exps[j] / total;
      }
    },

    softmaxBackward(y, dy, dx, rows, cols) {
      const ys = f32(y, rows * cols), dys = f32(dy, rows * cols), dxs = f32(dx, rows * cols);
      for (let r = 0; r < rows; r++) {
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += dys[r * cols + j] * ys[r * cols + j];
        for (let j = 0; j < cols; j++) dxs[r * cols + j] = ys[r * cols + j] * (dys[r * cols + j] - dot);
      }
    },

    softmaxCrossEntropy(logits, rows, cols, labels, targets, probs, grad) {
      const z = f32(logits, rows * cols), p = f32(probs, rows * cols), g = f32(grad, rows * cols);
      const label = labels !== 0 ? i32(labels, rows) : null;
      const t = labels !== 0 ? null : f32(targets, rows * cols);
      let total = 0;
      for (let r = 0; r < rows; r++) {
        const row = Array.from(z.subarray(r * cols, (r + 1) * cols));
        const peak = Math.max(...row);
        const logSum = Math.log(row.reduce((s, v) => s + Math.exp(v - peak), 0));
        for (let j = 0; j < cols; j++) {
          const logP = row[j] - peak - logSum;
          const target = label ? (label[r] === j ? 1 : 0) : t![r * cols + j];
          total -= target * logP;
          p[r * cols + j] = Math.exp(logP);
          g[r * cols + j] = (Math.exp(logP) - target) / rows;
        }
      }
      return total / rows;
    },

    meanSquaredError(y, targets, count, grad) {
      const ys = f32(y, count), t = f32(targets, count), g = f32(grad, count);
      let total = 0;
      for (let i = 0; i < count; i++) {
        const d = ys[i] - t[i];
        total += d * d;
        g[i] = (2 * d) / count;
      }
      return total / count;
    },

    binaryCrossEntropy(p, targets, count, grad) {
      // The clip bounds as f32 values, as Keras (and the wasm kernel) clip in float32.
      const eps = Math.fround(1e-7);
      const high = Math.fround(1 - eps);
      const ps = f32(p, count), t = f32(targets, count), g = f32(grad, count);
      let total = 0;
      for (let i = 0; i < count; i++) {
        const q = Math.min(Math.max(ps[i], eps), high);
        total -= t[i] * Math.log(q) + (1 - t[i]) * Math.log(1 - q);
        g[i] = ps[i] > eps && ps[i] < high ? (q - t[i]) / (q * (1 - q)) / count : 0;
      }
      return total / count;
    },

    sigmoidCrossEntropy(z, targets, count, probs, grad) {
      const zs = f32(z, count), t = f32(targets, count), p = f32(probs, count), g = f32(grad, count);
      let total = 0;
      for (let i = 0; i < count; i++) {
        const q = 1 / (1 + Math.exp(-zs[i]));
        // The stable form: log q underflows for large |z|, this never does.
        total += Math.max(zs[i], 0) - zs[i] * t[i] + Math.log1p(Math.exp(-Math.abs(zs[i])));
        p[i] = q;
        g[i] = (q - t[i]) / count;
      }
      return total / count;
    },

    sgdUpdate(w, g, count, lr) {
      const ws = f32(w, count), gs = f32(g, count);
      for (let i = 0; i < count; i++) ws[i] -= lr * gs[i];
    },

    sgdMomentumUpdate(w, g, velocity, count, lr, momentum, nesterov) {
      const ws = f32(w, count), gs = f32(g, count), vs = f32(velocity, count);
      for (let i = 0; i < count; i++) {
        vs[i] = momentum * vs[i] - lr * gs[i];
        ws[i] += nesterov ? momentum * vs[i] - lr * gs[i] : vs[i];
      }
    },

    adamUpdate(w, g, m, v, count, lrT, beta1, beta2, epsilon) {
      const ws = f32(w, count), gs = f32(g, count), ms = f32(m, count), vs = f32(v, count);
      for (let i = 0; i < count; i++) {
        ms[i] = beta1 * ms[i] + (1 - beta1) * gs[i];
        vs[i] = beta2 * vs[i] + (1 - beta2) * gs[i] * gs[i];
        ws[i] -= (lrT * ms[i]) / (Math.sqrt(vs[i]) + epsilon);
      }
    },

    rmspropUpdate(w, g, s, count, lr, rho, epsilon) {
      const ws = f32(w, count), gs = f32(g, count), ss = f32(s, count);
      for (let i = 0; i < count; i++) {
        ss[i] = rho * ss[i] + (1 - rho) * gs[i] * gs[i];
        ws[i] -= (lr * gs[i]) / (Math.sqrt(ss[i]) + epsilon);
      }
    },

    columnSums(x, rows, cols, out) {
      const xs = f32(x, rows * cols), o = f32(out, cols);
      for (let j = 0; j < cols; j++) {
        let sum = 0;
        for (let r = 0; r < rows; r++) sum += xs[r * cols + j];
        o[j] = sum;
      }
    },

    sumOfSquares(x, count) {
      const xs = f32(x, count);
      let total = 0;
      for (let i = 0; i < count; i++) total += xs[i] * xs[i];
      return total;
    },

    sumOfAbs(x, count) {
      const xs = f32(x, count);
      let total = 0;
      for (let i = 0; i < count; i++) total += Math.abs(xs[i]);
      return total;
    },

    addL1Gradient(w, g, count, lambda) {
      const ws = f32(w, count), gs = f32(g, count);
      for (let i = 0; i < count; i++) gs[i] += lambda * Math.sign(ws[i]);
    },

    axpy(count, alpha, x, y) {
      const xs = f32(x, count), ys = f32(y, count);
      for (let i = 0; i < count; i++) ys[i] += alpha * xs[i];
    },

    multiply(x, mask, y, count) {
      const xs = f32(x, count), ms = f32(mask, count), ys = f32(y, count);
      for (let i = 0; i < count; i++) ys[i] = xs[i] * ms[i];
    },

    dropoutMask(mask, count, rate, state) {
      const ms = f32(mask, count);
      const keep = Math.fround(1 / (1 - rate));
      let s = state === 0 ? 0x9e3779b9 : state >>> 0;
      for (let i = 0; i < count; i++) {
        s = (s ^ (s << 13)) >>> 0;
        s = (s ^ (s >>> 17)) >>> 0;
        s = (s ^ (s << 5)) >>> 0;
        const u = (s >>> 8) / 16777216;
        ms[i] = u >= Math.fround(rate) ? keep : 0;
      }
      return s;
    },

    // ---- merge layers ----

    elementwise(op, a, b, y, count) {
      const as = f32(a, count).slice(), bs = f32(b, count).slice(), ys = f32(y, count);
      const f = [(p: number, q: number) => p + q, (p: number, q: number) => p - q, (p: number, q: number) => p * q, Math.max, Math.min][op];
      for (let i = 0; i < count; i++) ys[i] = f(as[i], bs[i]);
    },

    scale(x, alpha, y, count) {
      const xs = f32(x, count), ys = f32(y, count);
      const a = Math.fround(alpha);
      for (let i = 0; i < count; i++) ys[i] = a * xs[i];
    },

    routeToWinner(x, y, dy, dx, count) {
      const xs = f32(x, count), ys = f32(y, count), dys = f32(dy, count), dxs = f32(dx, count);
      for (let i = 0; i < count; i++) {
        const won = xs[i] === ys[i];
        dxs[i] = won ? dys[i] : 0;
        if (won) dys[i] = 0;
      }
    },

    copyRows(src, rows, width, srcStride, dst, dstStride) {
      const all = new Float32Array(memory.buffer);
      for (let r = 0; r < rows; r++) all.copyWithin((dst >> 2) + r * dstStride, (src >> 2) + r * srcStride, (src >> 2) + r * srcStride + width);
    },

    rowDots(a, b, rows, cols, y) {
      const as = f32(a, rows * cols), bs = f32(b, rows * cols), ys = f32(y, rows);
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += as[r * cols + c] * bs[r * cols + c];
        ys[r] = sum;
      }
    },

    scaleRows(x, s, rows, cols, y) {
      const xs = f32(x, rows * cols), ss = f32(s, rows).slice(), ys = f32(y, rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) ys[r * cols + c] = xs[r * cols + c] * ss[r];
    },

    // ---- data movement ----------------------------------------------------------------------------

    permute(x, n, d0, d1, d2, d3, p0, p1, p2, p3, y) {
      const d = [d0, d1, d2, d3], perm = [p0, p1, p2, p3];
      const size = d0 * d1 * d2 * d3;
      const inStride = [d1 * d2 * d3, d2 * d3, d3, 1];
      const o = perm.map((p) => d[p]);
      const u32 = new Uint32Array(memory.buffer); // bit patterns: a copy must not touch NaN payloads
      let dst = at(y);
      for (let img = 0; img < n; img++)
        for (let i0 = 0; i0 < o[0]; i0++)
          for (let i1 = 0; i1 < o[1]; i1++)
            for (let i2 = 0; i2 < o[2]; i2++)
              for (let i3 = 0; i3 < o[3]; i3++) {
                const index = i0 * inStride[perm[0]] + i1 * inStride[perm[1]] + i2 * inStride[perm[2]] + i3 * inStride[perm[3]];
                u32[dst++] = u32[at(x) + img * size + index];
              }
    },

    zeroPad2d(x, n, h, w, c, top, bottom, left, right, y) {
      const mem = all();
      const oh = h + top + bottom, ow = w + left + right;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              const iy = oy - top, ix = ox - left;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              mem[at(y) + ((img * oh + oy) * ow + ox) * c + ch] = inside ? mem[at(x) + ((img * h + iy) * w + ix) * c + ch] : 0;
            }
    },

    crop2d(x, n, h, w, c, top, bottom, left, right, y) {
      const mem = all();
      const oh = h - top - bottom, ow = w - left - right;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              mem[at(y) + ((img * oh + oy) * ow + ox) * c + ch] = mem[at(x) + ((img * h + oy + top) * w + ox + left) * c + ch];
            }
    },

    upsampleNearestForward(x, n, h, w, c, sh, sw, y) {
      const mem = all();
      const oh = h * sh, ow = w * sw;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++)
          for (let ox = 0; ox < ow; ox++)
            for (let ch = 0; ch < c; ch++) {
              const iy = Math.floor(oy / sh), ix = Math.floor(ox / sw);
              mem[at(y) + ((img * oh + oy) * ow + ox) * c + ch] = mem[at(x) + ((img * h + iy) * w + ix) * c + ch];
            }
    },

    upsampleNearestBackward(dy, n, h, w, c, sh, sw, dx) {
      // f32 sums in the block's row-major order, as the wasm kernel adds them, so the two agree exactly.
      const mem = all();
      const oh = h * sh, ow = w * sw;
      for (let img = 0; img < n; img++)
        for (let iy = 0; iy < h; iy++)
          for (let ix = 0; ix < w; ix++)
            for (let ch = 0; ch < c; ch++) {
              let sum = 0;
              for (let a = 0; a < sh; a++)
                for (let b = 0; b < sw; b++) sum = Math.fround(sum + mem[at(dy) + ((img * oh + iy * sh + a) * ow + ix * sw + b) * c + ch]);
              mem[at(dx) + ((img * h + iy) * w + ix) * c + ch] = sum;
            }
    },

    resizeBilinearForward(x, n, h, w, c, oh, ow, halfPixelCenters, y) {
      const mem = all();
      const f = Math.fround;
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++) {
          const r = bilinearSource(oy, h, oh, halfPixelCenters);
          for (let ox = 0; ox < ow; ox++) {
            const q = bilinearSource(ox, w, ow, halfPixelCenters);
            for (let ch = 0; ch < c; ch++) {
              const v = (iy: number, ix: number) => mem[at(x) + ((img * h + iy) * w + ix) * c + ch];
              const top = f(v(r.lo, q.lo) + f(f(v(r.lo, q.hi) - v(r.lo, q.lo)) * q.frac));
              const bottom = f(v(r.hi, q.lo) + f(f(v(r.hi, q.hi) - v(r.hi, q.lo)) * q.frac));
              mem[at(y) + ((img * oh + oy) * ow + ox) * c + ch] = f(top + f(f(bottom - top) * r.frac));
            }
          }
        }
    },

    resizeBilinearBackward(dy, n, h, w, c, oh, ow, halfPixelCenters, dx) {
      // The four products are rounded to f32 and added in the wasm kernel's order, so the two agree exactly.
      const mem = all();
      const f = Math.fround;
      mem.fill(0, at(dx), at(dx) + n * h * w * c);
      for (let img = 0; img < n; img++)
        for (let oy = 0; oy < oh; oy++) {
          const r = bilinearSource(oy, h, oh, halfPixelCenters);
          for (let ox = 0; ox < ow; ox++) {
            const q = bilinearSource(ox, w, ow, halfPixelCenters);
            for (let ch = 0; ch < c; ch++) {
              const g = mem[at(dy) + ((img * oh + oy) * ow + ox) * c + ch];
              const upper = f(g * f(1 - r.frac)), lower = f(g * r.frac);
              const add = (iy: number, ix: number, v: number) => {
                const i = at(dx) + ((img * h + iy) * w + ix) * c + ch;
                mem[i] = f(mem[i] + v);
              };
              add(r.lo, q.lo, f(upper * f(1 - q.frac)));
              add(r.lo, q.hi, f(upper * q.frac));
              add(r.hi, q.lo, f(lower * f(1 - q.frac)));
              add(r.hi, q.hi, f(lower * q.frac));
            }
          }
        }
    },
    // ---- embeddings ----
    embeddingGather(indices, count, table, rows, dim, y) {
      const mem = all();
      let firstBad = -1;
      for (let i = 0; i < count; i++) {
        const v = mem[at(indices) + i];
        const good = Number.isInteger(v) && v >= 0 && v < rows;
        if (!good && firstBad < 0) firstBad = i;
        for (let c = 0; c < dim; c++) mem[at(y) + i * dim + c] = good ? mem[at(table) + v * dim + c] : 0;
      }
      return firstBad;
    },

    embeddingScatterAdd(indices, count, dy, rows, dim, dtable) {
      const mem = all();
      for (let i = 0; i < count; i++) {
        const v = mem[at(indices) + i];
        if (!(Number.isInteger(v) && v >= 0 && v < rows)) continue;
        for (let c = 0; c < dim; c++) mem[at(dtable) + v * dim + c] = Math.fround(mem[at(dtable) + v * dim + c] + mem[at(dy) + i * dim + c]);
      }
    },

    indexMask(indices, count, mask) {
      const mem = all();
      for (let i = 0; i < count; i++) mem[at(mask) + i] = mem[at(indices) + i] !== 0 ? 1 : 0;
    },
    // ---- global pooling over time, with a mask ----
    sequenceMeanForward(x, n, t, c, mask, y) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = (s: number) => mask === 0 || mem[at(mask) + b * t + s] !== 0;
        let count = 0;
        for (let s = 0; s < t; s++) if (real(s)) count++;
        for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          for (let s = 0; s < t; s++) if (real(s)) sum = f(sum + mem[at(x) + (b * t + s) * c + ch]);
          mem[at(y) + b * c + ch] = count === 0 ? 0 : f(sum / count);
        }
      }
    },

    sequenceMeanBackward(dy, n, t, c, mask, dx) {
      const mem = all();
      for (let b = 0; b < n; b++) {
        const real = (s: number) => mask === 0 || mem[at(mask) + b * t + s] !== 0;
        let count = 0;
        for (let s = 0; s < t; s++) if (real(s)) count++;
        for (let s = 0; s < t; s++)
          for (let ch = 0; ch < c; ch++) mem[at(dx) + (b * t + s) * c + ch] = count > 0 && real(s) ? Math.fround(mem[at(dy) + b * c + ch] / count) : 0;
      }
    },

    sequenceMaxForward(x, n, t, c, mask, y, argmax) {
      const mem = all();
      for (let b = 0; b < n; b++)
        for (let ch = 0; ch < c; ch++) {
          let best = 0, win = -1;
          for (let s = 0; s < t; s++) {
            if (mask !== 0 && mem[at(mask) + b * t + s] === 0) continue;
            const v = mem[at(x) + (b * t + s) * c + ch];
            if (win < 0 || v > best) [best, win] = [v, s];
          }
          mem[at(y) + b * c + ch] = win < 0 ? 0 : best;
          if (argmax !== 0) i32(argmax, n * c)[b * c + ch] = win;
        }
    },

    sequenceMaxBackward(dy, argmax, n, t, c, dx) {
      const mem = all(), winners = i32(argmax, n * c);
      mem.fill(0, at(dx), at(dx) + n * t * c);
      for (let b = 0; b < n; b++)
        for (let ch = 0; ch < c; ch++) if (winners[b * c + ch] >= 0) mem[at(dx) + (b * t + winners[b * c + ch]) * c + ch] = mem[at(dy) + b * c + ch];
    },
    maskWhereNotValue(x, rows, features, maskValue, mask) {
      const mem = all(), v = Math.fround(maskValue);
      for (let r = 0; r < rows; r++) {
        let any = false;
        for (let f = 0; f < features; f++) if (mem[at(x) + r * features + f] !== v) any = true;
        mem[at(mask) + r] = any ? 1 : 0;
      }
    },
    // ---- batched small products: the triple loop, summed in f64 and rounded once ----
    batchedMatmul(count1, count2, m, n, k, a, a1, a2, aRow, aCol, b, b1, b2, bRow, bCol, c, c1, c2, ldc, accumulate) {
      const mem = all();
      for (let z1 = 0; z1 < count1; z1++)
        for (let z2 = 0; z2 < count2; z2++) {
          const [ap, bp, cp] = [at(a) + z1 * a1 + z2 * a2, at(b) + z1 * b1 + z2 * b2, at(c) + z1 * c1 + z2 * c2];
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let sum = accumulate ? mem[cp + i * ldc + j] : 0;
              for (let p = 0; p < k; p++) sum += mem[ap + i * aRow + p * aCol] * mem[bp + p * bRow + j * bCol];
              mem[cp + i * ldc + j] = sum;
            }
        }
    },

    // ---- attention: the softmax written out, in f64, rounded once ----
    attentionSoftmaxForward(scores, batch, heads, tq, tk, scale, keyMask, causal, y) {
      const mem = all();
      for (let b = 0; b < batch; b++)
        for (let h = 0; h < heads; h++)
          for (let i = 0; i < tq; i++) {
            const row = ((b * heads + h) * tq + i) * tk;
            const visible = (j: number) => (!causal || j <= i) && (keyMask === 0 || mem[at(keyMask) + b * tk + j] !== 0);
            const logits = Array.from({ length: tk }, (_, j) => Math.fround(mem[at(scores) + row + j] * scale));
            const best = Math.max(...logits.filter((_, j) => visible(j)));
            const e = logits.map((v, j) => (visible(j) ? Math.exp(v - best) : 0));
            const sum = e.reduce((a, v) => a + v, 0);
            for (let j = 0; j < tk; j++) mem[at(y) + row + j] = sum > 0 ? e[j] / sum : 0;
          }
    },

    // ---- recurrent cells: the textbook formulas, one element at a time ----
    lstmCellForward(gates, n, u, cPrev, hPrev, mask, maskStride, c, h) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const g = at(gates) + b * 4 * u + j, s = b * u + j;
          const i = f(logistic(mem[g])), fg = f(logistic(mem[g + u])), cand = f(Math.tanh(mem[g + 2 * u])), o = f(logistic(mem[g + 3 * u]));
          [mem[g], mem[g + u], mem[g + 2 * u], mem[g + 3 * u]] = [i, fg, cand, o];
          const cNew = f(fg * mem[at(cPrev) + s] + i * cand);
          mem[at(c) + s] = real ? cNew : mem[at(cPrev) + s];
          mem[at(h) + s] = real ? f(o * Math.tanh(cNew)) : mem[at(hPrev) + s];
        }
      }
    },

    lstmCellBackward(gates, n, u, cPrev, c, mask, maskStride, dOut, dOutStride, dh, dc) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const g = at(gates) + b * 4 * u + j, s = b * u + j;
          const dH = f(mem[at(dh) + s] + (dOut === 0 ? 0 : mem[at(dOut) + b * dOutStride + j]));
          if (!real) {
            for (const k of [0, u, 2 * u, 3 * u]) mem[g + k] = 0;
            mem[at(dh) + s] = dH;
            continue;
          }
          const [i, fg, cand, o] = [mem[g], mem[g + u], mem[g + 2 * u], mem[g + 3 * u]];
          const tc = Math.tanh(mem[at(c) + s]);
          const dC = mem[at(dc) + s] + dH * o * (1 - tc * tc);
          mem[g] = f(dC * cand * i * (1 - i));
          mem[g + u] = f(dC * mem[at(cPrev) + s] * fg * (1 - fg));
          mem[g + 2 * u] = f(dC * i * (1 - cand * cand));
          mem[g + 3 * u] = f(dH * tc * o * (1 - o));
          mem[at(dc) + s] = f(dC * fg);
          mem[at(dh) + s] = 0;
        }
      }
    },

    gruCellForward(xg, rg, n, u, hPrev, mask, maskStride, h) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const x = at(xg) + b * 3 * u + j, r = at(rg) + b * 3 * u + j, s = b * u + j;
          const z = f(logistic(mem[x] + mem[r])), reset = f(logistic(mem[x + u] + mem[r + u]));
          const cand = f(Math.tanh(mem[x + 2 * u] + reset * mem[r + 2 * u]));
          [mem[x], mem[x + u], mem[x + 2 * u]] = [z, reset, cand];
          const hp = mem[at(hPrev) + s];
          mem[at(h) + s] = real ? f(z * hp + (1 - z) * cand) : hp;
        }
      }
    },

    gruCellBackward(xg, rg, n, u, hPrev, mask, maskStride, dOut, dOutStride, dh) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const x = at(xg) + b * 3 * u + j, r = at(rg) + b * 3 * u + j, s = b * u + j;
          const dH = f(mem[at(dh) + s] + (dOut === 0 ? 0 : mem[at(dOut) + b * dOutStride + j]));
          if (!real) {
            for (const k of [0, u, 2 * u]) mem[x + k] = mem[r + k] = 0;
            mem[at(dh) + s] = dH;
            continue;
          }
          const [z, reset, cand, recurrentH, hp] = [mem[x], mem[x + u], mem[x + 2 * u], mem[r + 2 * u], mem[at(hPrev) + s]];
          const dCand = dH * (1 - z) * (1 - cand * cand);
          const dz = f(dH * (hp - cand) * z * (1 - z)), dr = f(dCand * recurrentH * reset * (1 - reset));
          [mem[x], mem[x + u], mem[x + 2 * u]] = [dz, dr, f(dCand)];
          [mem[r], mem[r + u], mem[r + 2 * u]] = [dz, dr, f(dCand * reset)];
          mem[at(dh) + s] = f(dH * z);
        }
      }
    },

    gruResetBeforeForwardGates(gates, n, u, hIn, rh) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++)
        for (let j = 0; j < u; j++) {
          const g = at(gates) + b * 3 * u + j, s = b * u + j;
          const z = f(logistic(mem[g])), reset = f(logistic(mem[g + u]));
          [mem[g], mem[g + u]] = [z, reset];
          mem[at(rh) + s] = f(reset * mem[at(hIn) + s]);
        }
    },

    gruResetBeforeForwardState(gates, n, u, hPrev, mask, maskStride, h) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const g = at(gates) + b * 3 * u + j, s = b * u + j;
          const z = mem[g], cand = f(Math.tanh(mem[g + 2 * u])), hp = mem[at(hPrev) + s];
          mem[g + 2 * u] = cand;
          mem[at(h) + s] = real ? f(z * hp + (1 - z) * cand) : hp;
        }
      }
    },

    gruResetBeforeBackwardState(gates, n, u, hPrev, mask, maskStride, dOut, dOutStride, dh) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const g = at(gates) + b * 3 * u + j, s = b * u + j;
          const dH = f(mem[at(dh) + s] + (dOut === 0 ? 0 : mem[at(dOut) + b * dOutStride + j]));
          if (!real) {
            mem[g] = mem[g + 2 * u] = 0;
            mem[at(dh) + s] = dH;
            continue;
          }
          const [z, cand, hp] = [mem[g], mem[g + 2 * u], mem[at(hPrev) + s]];
          mem[g] = f(dH * (hp - cand) * z * (1 - z));
          mem[g + 2 * u] = f(dH * (1 - z) * (1 - cand * cand));
          mem[at(dh) + s] = f(dH * z);
        }
      }
    },

    gruResetBeforeBackwardReset(gates, drh, n, u, hIn, mask, maskStride) {
      const mem = all(), f = Math.fround;
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const r = at(gates) + b * 3 * u + u + j, s = b * u + j;
          const reset = mem[r], d = mem[at(drh) + s];
          mem[r] = real ? f(d * mem[at(hIn) + s] * reset * (1 - reset)) : 0;
          mem[at(drh) + s] = real ? f(d * reset) : 0;
        }
      }
    },

    rnnCellForward(z, n, u, act, hPrev, mask, maskStride, h) {
      const mem = all();
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) mem[at(h) + b * u + j] = real ? Math.fround(rnnActivation(act, mem[at(z) + b * u + j])) : mem[at(hPrev) + b * u + j];
      }
    },

    rnnCellBackward(h, n, u, act, mask, maskStride, dOut, dOutStride, dh, dz) {
      const mem = all();
      for (let b = 0; b < n; b++) {
        const real = mask === 0 || mem[at(mask) + b * maskStride] !== 0;
        for (let j = 0; j < u; j++) {
          const s = b * u + j, y = mem[at(h) + s];
          const dH = Math.fround(mem[at(dh) + s] + (dOut === 0 ? 0 : mem[at(dOut) + b * dOutStride + j]));
          const slope = act === Act.tanh ? 1 - y * y : act === Act.sigmoid ? y * (1 - y) : act === Act.relu ? (y > 0 ? 1 : 0) : 1;
          mem[at(dz) + s] = real ? Math.fround(dH * slope) : 0;
          mem[at(dh) + s] = real ? 0 : dH;
        }
      }
    },
  };
}

/**
 * The two input indices output index o of a bilinear resize reads and the weight of the second, as
 * tf.image.resize_bilinear: source (o + ½)·in/out − ½ with half-pixel centers, o·in/out without,
 * clamped to [0, in − 1].
 */
function bilinearSource(o: number, inSize: number, outSize: number, halfPixelCenters: boolean) {
  const ratio = inSize / outSize;
  const s = Math.max(halfPixelCenters ? (o + 0.5) * ratio - 0.5 : o * ratio, 0);
  const lo = Math.floor(s);
  return { lo, hi: Math.min(Math.ceil(s), inSize - 1), frac: Math.fround(s - lo) };
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The activations a SimpleRNN cell applies (rnnCellForward's act). */
function rnnActivation(act: number, x: number): number {
  if (act === Act.tanh) return Math.tanh(x);
  if (act === Act.sigmoid) return logistic(x);
  if (act === Act.relu) return Math.max(x, 0);
  return x;
}
