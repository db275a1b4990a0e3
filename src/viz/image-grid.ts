// Turning tensors into pictures: colour maps for weights and activations, and tiling many small images
// (filters, samples) into one grid, as RGB bytes ready for encodePng or rgbToSvg.

/** Largest finite |v| (0 when there is none), the common scale of a colour map. */
function maxAbsFinite(values: Float32Array): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

/**
 * A diverging colour map for signed values (blue − / white 0 / red +), scaled by max |v|.
 * ±Infinity saturate to full blue/red; NaN is drawn mid-grey so it stands out from any real value.
 */
export function divergingRgb(values: Float32Array): Uint8Array {
  const scale = maxAbsFinite(values);
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let r: number, g: number, b: number;
    if (Number.isNaN(v)) {
      r = g = b = 128;
    } else {
      const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : v > 0 ? 1 : v < 0 ? -1 : 0;
      const fade = Math.round(255 * (1 - Math.abs(t)));
      if (t >= 0) [r, g, b] = [255, fade, fade];
      else [r, g, b] = [fade, fade, 255];
    }
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return out;
}

/**
 * Heat colour map (black→red→yellow→white) for non-negative values scaled by max.
 * Negative values clamp to black, +Infinity to white, NaN is mid-grey.
 */
export function heatRgb(values: Float32Array): Uint8Array {
  let scale = 0;
  for (const v of values) if (Number.isFinite(v) && v > scale) scale = v;
  const out = new Uint8Array(values.length * 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) {
      out.fill(128, i * 3, i * 3 + 3);
      continue;
    }
    const t = scale > 0 ? Math.max(0, Math.min(1, v / scale)) : v > 0 ? 1 : 0;
    // Three equal ramps: red rises, then green, then blue.
    out[i * 3] = Math.round(255 * Math.min(1, t * 3));
    out[i * 3 + 1] = Math.round(255 * Math.max(0, Math.min(1, t * 3 - 1)));
    out[i * 3 + 2] = Math.round(255 * Math.max(0, Math.min(1, t * 3 - 2)));
  }
  return out;
}

/**
 * Tiles `count` images of tileH×tileW RGB pixels into a grid with `gap` pixel white borders, each tile
 * upscaled by `scale` (nearest). Returns { pixels, width, height } RGB.
 * Columns default to a near-square grid; the border also runs around the outside.
 */
export function tileImages(
  tiles: Uint8Array[],
  tileH: number,
  tileW: number,
  options: { columns?: number; scale?: number; gap?: number } = {},
): { pixels: Uint8Array; width: number; height: number } {
  const count = tiles.length;
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 1;
  if (!Number.isInteger(tileH) || !Number.isInteger(tileW) || tileH < 1 || tileW < 1) {
    throw new RangeError(`tileImages: tile size must be positive integers (got ${tileH}×${tileW})`);
  }
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`tileImages: scale must be a positive integer (got ${scale})`);
  if (!Number.isInteger(gap) || gap < 0) throw new RangeError(`tileImages: gap must be a non-negative integer (got ${gap})`);
  if (count === 0) return { pixels: new Uint8Array(0), width: 0, height: 0 };
  tiles.forEach((tile, i) => {
    if (tile.length !== tileH * tileW * 3) {
      throw new RangeError(`tileImages: tile ${i} has ${tile.length} bytes, expected ${tileH * tileW * 3} (${tileH}×${tileW} RGB)`);
    }
  });
  const columns = Math.min(count, Math.max(1, Math.floor(options.columns ?? Math.ceil(Math.sqrt(count)))));
  const rows = Math.ceil(count / columns);
  const cellW = tileW * scale;
  const cellH = tileH * scale;
  const width = columns * cellW + (columns + 1) * gap;
  const height = rows * cellH + (rows + 1) * gap;
  const pixels = new Uint8Array(width * height * 3).fill(255);

  tiles.forEach((tile, i) => {
    const x0 = gap + (i % columns) * (cellW + gap);
    const y0 = gap + Math.floor(i / columns) * (cellH + gap);
    for (let y = 0; y < cellH; y++) {
      const srcRow = Math.floor(y / scale) * tileW;
      const dstRow = ((y0 + y) * width + x0) * 3;
      for (let x = 0; x < cellW; x++) {
        const src = (srcRow + Math.floor(x / scale)) * 3;
        const dst = dstRow + x * 3;
        pixels[dst] = tile[src];
        pixels[dst + 1] = tile[src + 1];
        pixels[dst + 2] = tile[src + 2];
      }
    }
  });
  return { pixels, width, height };
}

/**
 * An RGB image as an SVG of <rect>s (for users who ask for .svg output). Run-length merge horizontal runs
 * of equal colour; the most common colour becomes one background rect and its runs are skipped, which
 * keeps grids with white borders small.
 */
export function rgbToSvg(pixels: Uint8Array, width: number, height: number): string {
  if (pixels.length !== width * height * 3) {
    throw new RangeError(`rgbToSvg: expected ${width * height * 3} bytes for ${width}×${height} RGB, got ${pixels.length}`);
  }
  const colourAt = (p: number) => (pixels[p * 3] << 16) | (pixels[p * 3 + 1] << 8) | pixels[p * 3 + 2];
  const hex = (c: number) => `#${c.toString(16).padStart(6, "0")}`;

  const counts = new Map<number, number>();
  for (let p = 0; p < width * height; p++) {
    const c = colourAt(p);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let background = 0xffffff;
  let best = -1;
  for (const [c, n] of counts) {
    if (n > best) {
      best = n;
      background = c;
    }
  }

  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" shape-rendering="crispEdges">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="${hex(background)}"/>`,
  ];
  for (let y = 0; y < height; y++) {
    let x = 0;
    while (x < width) {
      const c = colourAt(y * width + x);
      let end = x + 1;
      while (end < width && colourAt(y * width + end) === c) end++;
      if (c !== background) parts.push(`<rect x="${x}" y="${y}" width="${end - x}" height="1" fill="${hex(c)}"/>`);
      x = end;
    }
  }
  parts.push("</svg>");
  return parts.join("\n");
}
