// The charts and images users open: SVGs must be well-formed with no NaN coordinates whatever the data,
// and PNGs must decode (here with a small independent decoder) to exactly the pixels given.

import { describe, expect, test } from "bun:test";
import { barChartSvg } from "../../src/viz/bar-chart";
import { divergingRgb, heatRgb, rgbToSvg, tileImages } from "../../src/viz/image-grid";
import { lineChartSvg, stackCharts } from "../../src/viz/line-chart";
import { encodePng } from "../../src/viz/png";
import { crc32 } from "../../src/model/crc32";

/** A small XML well-formedness check: balanced, properly nested tags; no stray < or & in text. */
function expectWellFormed(svg: string) {
  expect(svg.startsWith("<svg")).toBe(true);
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(svg); m; m = tag.exec(svg)) {
    const text = svg.slice(last, m.index);
    expect(text).not.toMatch(/[<>]/);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|#\d+);)/);
    expect(m[3]).not.toMatch(/&(?!(amp|lt|gt|quot|#\d+);)/);
    last = tag.lastIndex;
    if (m[1]) expect(stack.pop()).toBe(m[2]);
    else if (!m[4]) stack.push(m[2]);
  }
  expect(svg.slice(last).trim()).toBe("");
  expect(stack).toEqual([]);
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  expect(svg).not.toMatch(/<script|href=|@import|url\(/);
}

describe("lineChartSvg", () => {
  const options = { title: "Loss", xLabel: "epoch", yLabel: "loss" };

  test("draws every series with a legend entry", () => {
    const svg = lineChartSvg(
      [
        { name: "train", values: [2.3, 1.1, 0.7, 0.5] },
        { name: "validation", values: [2.2, 1.3, 0.9, 0.8] },
      ],
      options,
    );
    expectWellFormed(svg);
    expect(svg).toContain(">train<");
    expect(svg).toContain(">validation<");
    expect(svg).toContain(">Loss<");
    expect(svg).toContain(">epoch<");
    expect((svg.match(/<path /g) ?? []).length).toBe(2);
  });

  test("NaN, constant, single-point, empty and infinite data never produce NaN coordinates", () => {
    const cases = [
      [{ name: "a", values: [NaN, 1, NaN, 2, 3, NaN] }],
      [{ name: "flat", values: [0.5, 0.5, 0.5] }],
      [{ name: "zero", values: [0, 0] }],
      [{ name: "one", values: [0.42] }],
      [{ name: "none", values: [] }],
      [{ name: "all-nan", values: [NaN, NaN] }],
      [{ name: "inf", values: [1, Infinity, -Infinity, 2] }],
      [],
      [{ name: "tiny", values: [1e-9, 2e-9] }, { name: "big", values: Array.from({ length: 500 }, (_, i) => 1e6 + i) }],
    ];
    for (const series of cases) {
      const svg = lineChartSvg(series, { ...options, width: 300, height: 200 });
      expectWellFormed(svg);
      for (const s of series) expect(svg).toContain(`>${s.name}<`);
    }
    // An isolated point gets a dot so it is still visible.
    expect(lineChartSvg([{ name: "one", values: [0.42] }], options)).toContain("<circle");
  });

  test("escapes markup in names and titles", () => {
    const svg = lineChartSvg([{ name: `<b>&"x'`, values: [1, 2] }], { title: "a < b & c > d", xLabel: "<x>", yLabel: "&y" });
    expectWellFormed(svg);
    expect(svg).toContain("&lt;b&gt;&amp;&quot;x&#39;");
    expect(svg).toContain("a &lt; b &amp; c &gt; d");
    expect(svg).not.toContain("<b>");
  });

  test("tick labels are clean decimals", () => {
    const svg = lineChartSvg([{ name: "acc", values: [0.1, 0.35, 0.72] }], options);
    expect(svg).not.toMatch(/\d\.\d{6,}/);
  });

  test("stackCharts places charts one under another", () => {
    const a = lineChartSvg([{ name: "loss", values: [1, 0.5] }], { ...options, width: 400, height: 200 });
    const b = lineChartSvg([{ name: "accuracy", values: [0.5, 0.9] }], { ...options, width: 500, height: 250 });
    const svg = stackCharts([a, b]);
    expectWellFormed(svg);
    expect(svg).toMatch(/^<svg[^>]* width="500" height="450"/);
    expect(svg).toContain('<svg x="0" y="0"');
    expect(svg).toContain('<svg x="0" y="200"');
    expect(svg).toContain(">loss<");
    expect(svg).toContain(">accuracy<");
    expectWellFormed(stackCharts([]));
  });
});

describe("barChartSvg", () => {
  test("groups, bars, values and unit", () => {
    const svg = barChartSvg(
      [
        { label: "MLP train b64", bars: [{ name: "wasmgrad", value: 12345.6 }, { name: "tfjs-wasm", value: 8000 }] },
        { label: "CNN train b32", bars: [{ name: "wasmgrad", value: 0.123 }, { name: "tfjs-cpu", value: 0 }] },
      ],
      { title: "Throughput", unit: "samples/s" },
    );
    expectWellFormed(svg);
    for (const text of ["MLP train b64", "CNN train b32", "wasmgrad", "tfjs-wasm", "tfjs-cpu", ">12346<", ">8000<", ">0.123<", "Throughput (samples/s)"]) {
      expect(svg).toContain(text);
    }
    // Same library, same colour in every group.
    const colours = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"><title>wasmgrad:/g)].map((m) => m[1]);
    expect(colours.length).toBe(2);
    expect(colours[0]).toBe(colours[1]);
  });

  test("odd data stays well-formed and escaped", () => {
    for (const groups of [
      [],
      [{ label: "empty", bars: [] }],
      [{ label: "a<&>", bars: [{ name: "x&y", value: NaN }, { name: "neg", value: -3 }, { name: "inf", value: Infinity }] }],
      [{ label: "zeros", bars: [{ name: "z", value: 0 }] }],
    ]) {
      const svg = barChartSvg(groups, { title: "T & <U>", unit: "" , width: 300 });
      expectWellFormed(svg);
      expect(svg).toContain("T &amp; &lt;U&gt;");
    }
  });
});

/** An independent PNG reader for 8-bit gray/RGB with any of the five filter types. */
async function decodePng(png: Uint8Array): Promise<{ width: number; height: number; channels: number; pixels: Uint8Array }> {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (offset < png.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(view.getUint32(offset + 8 + length)).toBe(crc32(png.subarray(offset + 4, offset + 8 + length)));
    types.push(type);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      expect(data[8]).toBe(8);
      channels = data[9] === 2 ? 3 : data[9] === 0 ? 1 : -1;
      expect([data[10], data[11], data[12]]).toEqual([0, 0, 0]);
    } else if (type === "IDAT") idat.push(data);
    offset += 12 + length;
  }
  expect(offset).toBe(png.length);
  expect(types[0]).toBe("IHDR");
  expect(types[types.length - 1]).toBe("IEND");
  const stream = new Blob(idat as BlobPart[]).stream().pipeThrough(new DecompressionStream("deflate"));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  const stride = width * channels;
  expect(raw.length).toBe((stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      pixels[y * stride + x] = (raw[y * (stride + 1) + 1 + x] + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

describe("encodePng", () => {
  for (const channels of [1, 3] as const) {
    for (const [width, height] of [[1, 1], [7, 3], [3, 7], [28, 28], [257, 5]]) {
      test(`${channels === 1 ? "gray" : "RGB"} ${width}×${height} decodes to the same pixels`, async () => {
        const pixels = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 73 + (i >> 3)) & 0xff);
        const decoded = await decodePng(await encodePng(pixels, width, height, channels));
        expect(decoded.width).toBe(width);
        expect(decoded.height).toBe(height);
        expect(decoded.channels).toBe(channels);
        expect(decoded.pixels).toEqual(pixels);
      });
    }
  }

  test("rejects a pixel buffer of the wrong size", async () => {
    await expect(encodePng(new Uint8Array(5), 2, 2, 1)).rejects.toThrow(/expected 4 bytes/);
    await expect(encodePng(new Uint8Array(0), 0, 0, 3)).rejects.toThrow(/positive integers/);
  });
});

describe("colour maps", () => {
  const rgb = (out: Uint8Array, i: number) => [out[i * 3], out[i * 3 + 1], out[i * 3 + 2]];

  test("diverging: 0 is white, +max red, −max blue, scaled by max |v|", () => {
    const out = divergingRgb(Float32Array.from([0, 2, -2, 1, -1, NaN]));
    expect(rgb(out, 0)).toEqual([255, 255, 255]);
    expect(rgb(out, 1)).toEqual([255, 0, 0]);
    expect(rgb(out, 2)).toEqual([0, 0, 255]);
    expect(rgb(out, 3)).toEqual([255, 128, 128]);
    expect(rgb(out, 4)).toEqual([128, 128, 255]);
    expect(rgb(out, 5)).toEqual([128, 128, 128]);
    expect([...divergingRgb(new Float32Array(3))]).toEqual(Array(9).fill(255));
  });

  test("heat: 0 black, max white, through red and yellow", () => {
    const out = heatRgb(Float32Array.from([0, 3, 1, 2, -1]));
    expect(rgb(out, 0)).toEqual([0, 0, 0]);
    expect(rgb(out, 1)).toEqual([255, 255, 255]);
    expect(rgb(out, 2)).toEqual([255, 0, 0]);
    expect(rgb(out, 3)).toEqual([255, 255, 0]);
    expect(rgb(out, 4)).toEqual([0, 0, 0]);
  });
});

describe("tileImages", () => {
  const solid = (r: number, g: number, b: number, n: number) => Uint8Array.from({ length: n * 3 }, (_, i) => [r, g, b][i % 3]);

  test("places tiles in rows with white gaps and nearest upscaling", () => {
    // Three 2×3 tiles, 2 columns, scale 2, gap 1: cells are 6 wide × 4 tall.
    const tiles = [solid(10, 0, 0, 6), solid(0, 20, 0, 6), solid(0, 0, 30, 6)];
    tiles[0].set([99, 98, 97], 5 * 3); // bottom-right pixel of tile 0 (row 1, col 2)
    const { pixels, width, height } = tileImages(tiles, 2, 3, { columns: 2, scale: 2, gap: 1 });
    expect(width).toBe(2 * 6 + 3);
    expect(height).toBe(2 * 4 + 3);
    const at = (x: number, y: number) => [...pixels.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
    expect(at(0, 0)).toEqual([255, 255, 255]); // outer border
    expect(at(1, 1)).toEqual([10, 0, 0]); // tile 0 top-left
    expect(at(5, 3)).toEqual([99, 98, 97]); // tile 0 bottom-right pixel, upscaled to a 2×2 block…
    expect(at(6, 4)).toEqual([99, 98, 97]);
    expect(at(7, 1)).toEqual([255, 255, 255]); // gap between columns
    expect(at(8, 1)).toEqual([0, 20, 0]); // tile 1
    expect(at(13, 4)).toEqual([0, 20, 0]);
    expect(at(1, 5)).toEqual([255, 255, 255]); // gap between rows
    expect(at(1, 6)).toEqual([0, 0, 30]); // tile 2, second row
    expect(at(6, 9)).toEqual([0, 0, 30]);
    expect(at(8, 6)).toEqual([255, 255, 255]); // empty cell stays white
    expect(pixels.length).toBe(width * height * 3);
  });

  test("defaults to a near-square grid and checks sizes", () => {
    const { width, height } = tileImages(Array.from({ length: 10 }, () => solid(0, 0, 0, 4)), 2, 2);
    expect(width).toBe(4 * 2 + 5);
    expect(height).toBe(3 * 2 + 4);
    expect(() => tileImages([new Uint8Array(5)], 2, 2)).toThrow(/expected 12/);
    expect(tileImages([], 2, 2).width).toBe(0);
  });
});

describe("rgbToSvg", () => {
  test("merges runs of one colour and skips the background", () => {
    // 4×2: row 0 = white, red, red, blue; row 1 = all white.
    const pixels = Uint8Array.from([255, 255, 255, 255, 0, 0, 255, 0, 0, 0, 0, 255, ...Array(12).fill(255)]);
    const svg = rgbToSvg(pixels, 4, 2);
    expectWellFormed(svg);
    expect(svg).toContain('width="4" height="2" fill="#ffffff"');
    expect(svg).toContain('<rect x="1" y="0" width="2" height="1" fill="#ff0000"/>');
    expect(svg).toContain('<rect x="3" y="0" width="1" height="1" fill="#0000ff"/>');
    expect((svg.match(/<rect /g) ?? []).length).toBe(3);
  });
});
