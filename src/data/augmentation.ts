// Image augmentation for training (Keras' ImageDataGenerator / RandomTranslation, RandomRotation,
// RandomZoom, plus Simard et al.'s elastic distortion for handwriting). Each image gets its own random
// rotation, zoom and shift — one affine map — and optionally a smooth random displacement field; the
// output pixel (x, y) samples the input bilinearly at the mapped point, with zeros outside, so digits
// stay on the black background MNIST has.
//
// Randomness comes from the caller's Rng, which fit() seeds from the model seed, the epoch and the batch,
// so an augmented run is reproducible and a resumed one sees the same images.

import { InputError } from "../errors";
import type { Rng } from "../engine/rng";

export interface AugmentationOptions {
  /** Largest rotation, in degrees either way. */
  rotation?: number;
  /** Largest shift, as a fraction of the image's height and width. */
  shift?: number;
  /** Largest zoom change: scale drawn from [1 − zoom, 1 + zoom]. */
  zoom?: number;
  /** Elastic distortion: displacement of up to `alpha` pixels, smoothed by a Gaussian of `sigma` pixels. */
  elastic?: { alpha: number; sigma: number };
}

export class ImageAugmenter {
  readonly options: Required<Omit<AugmentationOptions, "elastic">> & Pick<AugmentationOptions, "elastic">;
  private readonly kernel: Float32Array;

  constructor(options: AugmentationOptions) {
    const { rotation = 0, shift = 0, zoom = 0, elastic } = options;
    check("rotation", rotation, 0, 180);
    check("shift", shift, 0, 1);
    check("zoom", zoom, 0, 0.9);
    if (elastic) {
      check("elastic alpha", elastic.alpha, 0, 1000);
      check("elastic sigma", elastic.sigma, 0.1, 100);
    }
    this.options = { rotation, shift, zoom, elastic };
    this.kernel = elastic ? gaussianKernel(elastic.sigma) : new Float32Array(0);
  }

  /** Parses "rotation=10,shift=0.1,zoom=0.1,elastic=34:4" (the --augment flag). */
  static parse(spec: string): ImageAugmenter {
    const options: AugmentationOptions = {};
    for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [key, value] = part.split("=");
      const number = Number(value);
      if (key === "elastic") {
        const [alpha, sigma] = (value ?? "").split(":").map(Number);
        if (!Number.isFinite(alpha) || !Number.isFinite(sigma)) throw new InputError(`--augment: elastic needs alpha:sigma in pixels, e.g. elastic=34:4, got '${value}'`);
        options.elastic = { alpha, sigma };
      } else if (key === "rotation" || key === "shift" || key === "zoom") {
        if (value === undefined || !Number.isFinite(number)) throw new InputError(`--augment: ${key} needs a number, e.g. ${key}=${key === "rotation" ? 10 : 0.1}`);
        options[key] = number;
      } else {
        throw new InputError(`--augment: unknown transformation '${key}'; use rotation=DEGREES, shift=FRACTION, zoom=FRACTION, elastic=ALPHA:SIGMA`);
      }
    }
    return new ImageAugmenter(options);
  }

  describe(): string {
    const o = this.options;
    const parts = [o.rotation && `rotation ±${o.rotation}°`, o.shift && `shift ±${o.shift}`, o.zoom && `zoom ±${o.zoom}`, o.elastic && `elastic α ${o.elastic.alpha} σ ${o.elastic.sigma}`];
    return parts.filter(Boolean).join(", ") || "none";
  }

  /** Transforms `count` NHWC images of [h, w, c] from `input` into `output` (which must not alias it). */
  apply(input: Float32Array, output: Float32Array, count: number, shape: number[], rng: Rng): void {
    if (shape.length !== 3) throw new InputError(`augmentation needs image inputs shaped [height, width, channels], not [${shape}]`);
    const [h, w, c] = shape;
    const size = h * w * c;
    const dx = new Float32Array(h * w), dy = new Float32Array(h * w);
    for (let i = 0; i < count; i++) {
      const o = this.options;
      const angle = (rng.uniform(-o.rotation, o.rotation) * Math.PI) / 180;
      const scale = rng.uniform(1 - o.zoom, 1 + o.zoom);
      const shiftY = rng.uniform(-o.shift, o.shift) * h, shiftX = rng.uniform(-o.shift, o.shift) * w;
      if (o.elastic) this.displacementField(dx, dy, h, w, o.elastic.alpha, rng);
      // Inverse map: output pixel → input point, about the image centre.
      const cos = Math.cos(angle) / scale, sin = Math.sin(angle) / scale;
      const cy = (h - 1) / 2, cx = (w - 1) / 2;
      const src = input.subarray(i * size, (i + 1) * size), dst = output.subarray(i * size, (i + 1) * size);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const py = y - cy - shiftY, px = x - cx - shiftX;
          let sy = cos * py - sin * px + cy, sx = sin * py + cos * px + cx;
          if (o.elastic) {
            sy += dy[y * w + x];
            sx += dx[y * w + x];
          }
          bilinear(src, h, w, c, sy, sx, dst, (y * w + x) * c);
        }
      }
    }
  }

  /** Uniform noise in [−1, 1] per pixel, Gaussian-smoothed (separably), times alpha. */
  private displacementField(dx: Float32Array, dy: Float32Array, h: number, w: number, alpha: number, rng: Rng): void {
    for (const field of [dx, dy]) {
      for (let i = 0; i < field.length; i++) field[i] = rng.uniform(-1, 1);
      smooth(field, h, w, this.kernel);
      for (let i = 0; i < field.length; i++) field[i] *= alpha;
    }
  }
}

function check(name: string, value: number, min: number, max: number): void {
  if (!(value >= min && value <= max)) throw new InputError(`augmentation ${name} must be in [${min}, ${max}], got ${value}`);
}

function bilinear(src: Float32Array, h: number, w: number, c: number, y: number, x: number, dst: Float32Array, at: number): void {
  const y0 = Math.floor(y), x0 = Math.floor(x);
  const fy = y - y0, fx = x - x0;
  for (let ch = 0; ch < c; ch++) {
    let v = 0;
    for (const [yy, wy] of [[y0, 1 - fy], [y0 + 1, fy]] as const) {
      if (yy < 0 || yy >= h || wy === 0) continue;
      for (const [xx, wx] of [[x0, 1 - fx], [x0 + 1, fx]] as const) {
        if (xx < 0 || xx >= w || wx === 0) continue;
        v += wy * wx * src[(yy * w + xx) * c + ch];
      }
    }
    dst[at + ch] = v;
  }
}

function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.ceil(3 * sigma);
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  return kernel;
}

/** Separable Gaussian blur with zero padding, in place. */
function smooth(field: Float32Array, h: number, w: number, kernel: Float32Array): void {
  const radius = (kernel.length - 1) / 2;
  const tmp = new Float32Array(field.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) if (x + k >= 0 && x + k < w) s += kernel[k + radius] * field[y * w + x + k];
      tmp[y * w + x] = s;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) if (y + k >= 0 && y + k < h) s += kernel[k + radius] * tmp[(y + k) * w + x];
      field[y * w + x] = s;
    }
}
