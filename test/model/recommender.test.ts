// Recommendation on the graph engine: matrix factorisation with two Inputs (user id, item id), two
// Embeddings whose rows are the latent factors, Dot for their inner product, and per-user and per-item
// bias Embeddings through Add — the classic "embedding dot product" recommender. There is no ratings data
// set offline, so the ratings are a seeded low-rank matrix: 60 users × 50 items, rank 3, plus a global
// offset and per-user/per-item biases, with 70% of the entries observed for training and the other 30%
// held out. A model that recovers the factors predicts the held-out entries; one that merely memorised
// the observed ones, or learned only the mean, does not.
//
// Bounds: the held-out RMSE must be below 0.25 of the rating spread (standard deviation) and below a
// third of the predict-the-mean baseline's RMSE. The data has no noise, so a good fit reaches far below
// that (printed); the bound leaves room for a different seed or optimizer path, not for a broken gradient.

import { expect, test } from "bun:test";
import { Add, Dot, Embedding, Flatten, Input, Model, Adam } from "../../src/index";
import { Rng } from "../../src/engine/rng";

const USERS = 60, ITEMS = 50, RANK = 3;

function ratings(seed: number) {
  const rng = new Rng(seed);
  const u = Array.from({ length: USERS * RANK }, () => rng.uniform(-1, 1));
  const v = Array.from({ length: ITEMS * RANK }, () => rng.uniform(-1, 1));
  const ub = Array.from({ length: USERS }, () => rng.uniform(-0.5, 0.5));
  const ib = Array.from({ length: ITEMS }, () => rng.uniform(-0.5, 0.5));
  const all: { user: number; item: number; rating: number }[] = [];
  for (let a = 0; a < USERS; a++)
    for (let b = 0; b < ITEMS; b++) {
      let r = 3 + ub[a] + ib[b];
      for (let k = 0; k < RANK; k++) r += u[a * RANK + k] * v[b * RANK + k];
      all.push({ user: a, item: b, rating: r });
    }
  const order = all.map((_, i) => i);
  rng.shuffle(order);
  const cut = Math.round(0.7 * all.length);
  return { train: order.slice(0, cut).map((i) => all[i]), test: order.slice(cut).map((i) => all[i]) };
}

function recommender(rank: number) {
  const user = Input({ shape: [1], name: "user" }), item = Input({ shape: [1], name: "item" });
  const factor = (name: string, rows: number, dim: number, x: ReturnType<typeof Input>) =>
    new Flatten().apply(new Embedding({ inputDim: rows, outputDim: dim, name }).apply(x));
  const dot = new Dot({ axes: 1 }).apply([factor("user_factors", USERS, rank, user), factor("item_factors", ITEMS, rank, item)]);
  const rating = new Add().apply([dot, factor("user_bias", USERS, 1, user), factor("item_bias", ITEMS, 1, item)]);
  return new Model({ inputs: [user, item], outputs: rating, seed: 11 });
}

const columns = (rows: { user: number; item: number; rating: number }[]) => ({
  x: [Float32Array.from(rows, (r) => r.user), Float32Array.from(rows, (r) => r.item)],
  y: Float32Array.from(rows, (r) => r.rating),
});

test("a matrix-factorisation recommender recovers a seeded rank-3 rating matrix from 70% of its entries", async () => {
  const { train, test: heldOut } = ratings(2026);
  const model = recommender(RANK);
  model.compile({ optimizer: new Adam({ learningRate: 0.03 }), loss: "meanSquaredError" });
  const t = columns(train), h = columns(heldOut);
  // The biases start at ±0.05 while the ratings sit around 3: the bias rows learn the offset first.
  await model.fit(t.x, t.y, { epochs: 120, batchSize: 64, shuffle: true });
  const predicted = (model.predict(h.x) as { data: Float32Array }).data;
  const mean = t.y.reduce((a, b) => a + b, 0) / t.y.length;
  let se = 0, seMean = 0, spread = 0;
  for (let i = 0; i < h.y.length; i++) {
    se += (predicted[i] - h.y[i]) ** 2;
    seMean += (mean - h.y[i]) ** 2;
  }
  for (const r of t.y) spread += (r - mean) ** 2;
  const rmse = Math.sqrt(se / h.y.length), baseline = Math.sqrt(seMean / h.y.length), std = Math.sqrt(spread / t.y.length);
  console.log(`held-out RMSE ${rmse.toFixed(4)}; predict-the-mean ${baseline.toFixed(4)}; rating std ${std.toFixed(4)}`);
  expect(rmse).toBeLessThan(0.25 * std);
  expect(rmse).toBeLessThan(baseline / 3);
}, 120_000);
