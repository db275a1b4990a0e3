// Sample statistics of drawn weights, for tests of initializers' distributions.

export function moments(values: Float32Array): { mean: number; variance: number; min: number; max: number } {
  let sum = 0, squares = 0, min = Infinity, max = -Infinity;
  for (const v of values) {
    sum += v;
    squares += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / values.length;
  return { mean, variance: squares / values.length - mean * mean, min, max };
}
