// For comparisons against a reference (PyTorch, ONNX Runtime): each check fails with its label and worst
// element, and the worst ratio to the tolerance is kept per kind, so a file can print how close it came.

import { expect } from "bun:test";
import { worstMismatch } from "./twin-heaps";

export function toleranceReport(): {
  worst: Record<string, number>;
  expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, label: string, kind: string): void;
} {
  const worst: Record<string, number> = {};
  return {
    worst,
    expectClose(got, want, atol, rtol, label, kind) {
      expect({ label, length: got.length }).toEqual({ label, length: want.length });
      const m = worstMismatch(got, want, atol, rtol);
      worst[kind] = Math.max(worst[kind] ?? 0, m.worst);
      expect({ label, worst: m.worst <= 1 ? "ok" : m }).toEqual({ label, worst: "ok" });
    },
  };
}
