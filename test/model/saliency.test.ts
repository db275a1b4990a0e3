// Saliency (d class score / d input) against central finite differences of the class's logit, on a
// small tanh CNN (smooth, so no kinks) ending in softmax, and on a sigmoid binary classifier.
// Tolerance |Δ| ≤ 2e-3 + 2e-2·|numeric| at h = 1e-2 (f32 forward passes; as in the layer gradient checks).

import { describe, expect, test } from "bun:test";
import { Conv2D, Dense, Flatten, Sequential } from "../../src/index";
import { seededValues, worstMismatch } from "../support/twin-heaps";

function pair(lastActivation: "softmax" | "sigmoid", units: number) {
  const make = (activation: "softmax" | "sigmoid" | "linear") => new Sequential({
    inputShape: [5, 4, 2], seed: 9,
    layers: [new Conv2D({ filters: 3, kernelSize: 2, activation: "tanh" }), new Flatten(), new Dense({ units, activation })],
  });
  const model = make(lastActivation), logits = make("linear");
  model.build();
  logits.build();
  logits.setWeights(model.getWeights());
  return { model, logits };
}

function numericGradient(logits: Sequential, x: Float32Array, output: number, sign: number, h: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const plus = x.slice(), minus = x.slice();
    plus[i] += h;
    minus[i] -= h;
    out[i] = (sign * (logits.predict(plus).data[output] - logits.predict(minus).data[output])) / (Math.fround(x[i] + h) - Math.fround(x[i] - h));
  }
  return out;
}

describe("saliency", () => {
  test("softmax classifier: the gradient of every class's logit matches finite differences", () => {
    const { model, logits } = pair("softmax", 4);
    const x = seededValues(40, 5, -1, 1);
    for (let c = 0; c < 4; c++) {
      const { gradient } = model.saliency(x, c);
      const r = worstMismatch(gradient.data, numericGradient(logits, x, c, 1, 1e-2), 2e-3, 2e-2);
      expect({ c, ok: r.worst <= 1 ? "ok" : r }).toEqual({ c, ok: "ok" });
    }
    const { predicted, scores } = model.saliency(x);
    expect(predicted).toBe(Array.from(scores).indexOf(Math.max(...scores)));
    // The model still predicts probabilities afterwards (the logits switch was undone).
    const p = model.predict(x).data;
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  test("sigmoid classifier: class 1's score is the logit, class 0's its negative", () => {
    const { model, logits } = pair("sigmoid", 1);
    const x = seededValues(40, 6, -1, 1);
    for (const c of [0, 1]) {
      const { gradient } = model.saliency(x, c);
      const r = worstMismatch(gradient.data, numericGradient(logits, x, 0, c === 1 ? 1 : -1, 1e-2), 2e-3, 2e-2);
      expect({ c, ok: r.worst <= 1 ? "ok" : r }).toEqual({ c, ok: "ok" });
    }
    expect(() => model.saliency(x, 2)).toThrow(/class 2/);
  });
});
