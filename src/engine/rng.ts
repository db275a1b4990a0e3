// A small seeded generator (SplitMix32) so that the same seed gives the same initial weights, shuffles and
// dropout masks on every engine: Math.random() can be seeded nowhere.

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal by Box–Muller. */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log never sees 0
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Normal truncated to ±2σ by resampling, as Keras' he_normal / glorot_normal draw. */
  truncatedNormal(): number {
    for (;;) {
      const x = this.normal();
      if (Math.abs(x) <= 2) return x;
    }
  }

  /** Fisher–Yates shuffle in place. */
  shuffle(values: Int32Array | number[]): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
  }

  /** An independent stream derived from this one (one per layer, one for shuffling, …). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}
