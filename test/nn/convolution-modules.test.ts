// nn.Conv2d with PyTorch's padding at any stride, dilation and groups, and nn.ConvTranspose2d: traced shapes
// follow PyTorch's documented formulas, the traced layers carry the options, a small U-Net-like module
// (strided conv down, transposed conv up) trains one step, and PyTorch's own refusals are kept.
//   Conv2d:          H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1
//   ConvTranspose2d: H_out = (H − 1)·s − 2p + d·(k − 1) + output_padding + 1
// (torch.nn documentation; no tolerance — sizes are integers.)

import { describe, expect, test } from "bun:test";
import { nn, optim, tensor } from "../../src/index";
import { Conv2D } from "../../src/layers/conv2d";
import { Conv2DTranspose } from "../../src/layers/conv2d-transpose";
import type { Value } from "../../src/nn/trace";
import { seededValues } from "../support/twin-heaps";

const convOut = (h: number, k: number, s: number, p: number, d: number) => Math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1;
const transposedOut = (h: number, k: number, s: number, p: number, d: number, op: number) => (h - 1) * s - 2 * p + d * (k - 1) + op + 1;

describe("nn.Conv2d and nn.ConvTranspose2d", () => {
  test("output sizes follow PyTorch's formulas over kernels, strides, paddings and dilations", () => {
    const failures: string[] = [];
    for (const h of [7, 8])
      for (const k of [1, 3, 4])
        for (const s of [1, 2, 3])
          for (const p of [0, 1, 2])
            for (const d of [1, 2]) {
              if (convOut(h, k, s, p, d) >= 1) {
                const m = new nn.Conv2d(2, 4, k, { stride: s, padding: p, dilation: d });
                const shape = m.call(tensor(seededValues(h * h * 2, 1), [1, h, h, 2])).shape;
                if (shape[1] !== convOut(h, k, s, p, d)) failures.push(`Conv2d k=${k} s=${s} p=${p} d=${d} on ${h}: ${shape[1]}`);
              }
              for (const op of [0, 1]) {
                if (op >= Math.max(s, d) || transposedOut(h, k, s, p, d, op) < 1) continue;
                const t = new nn.ConvTranspose2d(2, 3, k, { stride: s, padding: p, dilation: d, outputPadding: op });
                const shape = t.call(tensor(seededValues(h * h * 2, 2), [1, h, h, 2])).shape;
                if (shape[1] !== transposedOut(h, k, s, p, d, op) || shape[3] !== 3) failures.push(`ConvTranspose2d k=${k} s=${s} p=${p} d=${d} op=${op} on ${h}: [${shape}]`);
              }
            }
    expect(failures).toEqual([]);
  });

  test("the traced layers carry padding, groups and dilation; [padH, padW] is symmetric per axis", () => {
    const m = new nn.Sequential(new nn.Conv2d(4, 6, 3, { stride: 2, padding: [1, 0], groups: 2, dilation: [1, 2] }), new nn.ReLU());
    m.call(tensor(seededValues(9 * 9 * 4, 3), [1, 9, 9, 4]));
    const conv = m.model.layers[0] as Conv2D;
    expect(conv).toBeInstanceOf(Conv2D);
    expect(conv.getConfig()).toMatchObject({ padding: [[1, 1], [0, 0]], strides: 2, groups: 2, dilationRate: [1, 2], activation: "relu" });
    expect(conv.kernel.shape).toEqual([3, 3, 2, 6]);
    expect(conv.outputShape).toEqual([convOut(9, 3, 2, 1, 1), convOut(9, 3, 2, 0, 2), 6]);
  });

  test("a small encoder–decoder (strided Conv2d down, ConvTranspose2d up) trains: one SGD step lowers the loss", () => {
    class EncoderDecoder extends nn.Module {
      down = new nn.Conv2d(1, 4, 3, { stride: 2, padding: 1 });
      up = new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1 });
      forward(x: Value): Value {
        return this.up.call(new nn.ReLU().call(this.down.call(x))).view(-1, 8 * 8 * 2);
      }
    }
    const model = new EncoderDecoder();
    const x = tensor(seededValues(4 * 64, 5, 0, 1), [4, 8, 8, 1]);
    const target = tensor(seededValues(4 * 128, 6), [4, 128]);
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.05 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      optimizer.zeroGrad();
      const loss = new nn.MSELoss().call(model.call(x), target);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    expect(model.model.layers.map((l) => l.type)).toContain("Conv2DTranspose");
    expect((model.model.layers.find((l) => l instanceof Conv2DTranspose) as Conv2DTranspose).kernel.shape).toEqual([3, 3, 2, 4]);
    expect(losses[2]).toBeLessThan(losses[0]);
  });

  test("PyTorch's refusals: padding 'same' with a stride, and channels the groups do not divide", () => {
    const x = tensor(seededValues(8 * 8 * 4, 7), [1, 8, 8, 4]);
    expect(() => new nn.Conv2d(4, 4, 3, { stride: 2, padding: "same" }).call(x)).toThrow("padding 'same' needs stride 1");
    expect(() => new nn.Conv2d(4, 6, 3, { groups: 4 }).call(x)).toThrow("4 groups must divide both the 4 input channels and the 6 filters");
    expect(new nn.Conv2d(4, 4, 3, { padding: "same", dilation: 2 }).call(x).shape).toEqual([1, 8, 8, 4]);
  });
});
