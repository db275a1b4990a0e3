#!/usr/bin/env node
// TensorFlow.js benchmark peer: training / inference throughput and tf.matMul GFLOPS, measured under node
// (the way users run tfjs). Plain ESM, runs unbuilt with node 20:
//
//   node bench/peers/tfjs-peer.mjs --backend wasm --model cnn --batch 64 --samples 8000 --epochs 1 --json
//
// Options (defaults in brackets):
//   --backend wasm|cpu     tfjs backend [wasm]. wasm = @tensorflow/tfjs-backend-wasm (XNNPACK, SIMD build);
//                          cpu = @tensorflow/tfjs-backend-cpu (plain JS).
//   --model mlp|mlp512|cnn [mlp]   input 28×28×1 NHWC, all Glorot-uniform kernels, zero biases:
//                          mlp    = Flatten-Dense(128,relu)-Dense(10,softmax)
//                          mlp512 = Flatten-Dense(512,relu)-Dropout(0.2)-Dense(10,softmax)
//                          cnn    = Conv2D(32,3×3,relu,valid)-MaxPool(2)-Conv2D(64,3×3,relu)-MaxPool(2)
//                                   -Conv2D(64,3×3,relu)-Flatten-Dense(64,relu)-Dense(10,softmax)
//   --api layers|core      [layers] layers = tfjs-layers Sequential + compile(adam(1e-3),
//                          'sparseCategoricalCrossentropy') + trainOnBatch (what tfjs users write);
//                          core = the same network written with tfjs-core fused ops, tf.train.adam(1e-3).minimize
//                          and softmax cross-entropy on logits (no Layers bookkeeping).
//   --batch N [64]  --samples N [8000]  --epochs N [1]
//   --warmup N [10]        training steps run before timing starts (not counted)
//   --chunk N [0 = auto]   steps per timed chunk; auto gives about 12 chunks per run (≥ 1 step each)
//   --max-seconds S [60]   stop timed training after S seconds (reported as truncated)
//   --infer-batch LIST [256]   comma-separated inference batch sizes, e.g. 1,32,256
//   --infer-samples N [4096]   samples per inference batch size (at least 3 batches)
//   --no-gemm              skip the tf.matMul measurements;  --gemm-ms MS [300] time per GEMM shape
//   --threads N            wasm only: tf.wasm setThreadsCount(N) before init (node never gets the threaded
//                          build: tfjs-backend-wasm disables threads when IS_NODE, see "threads" in the output)
//   --seed N [1]  --json   print one JSON object instead of the table
//
// Data is synthetic: images uniform in [0,1), labels uniform in 0..9 (throughput only; the loss is reported
// just as a sanity check that training ran). One epoch = floor(samples / batch) full batches, in order, each
// uploaded from JS arrays with tf.tensor (not tf.slice of one big tensor, which on 'wasm' copies the whole
// source tensor out of the heap per call). Inference: predictOnBatch (core: forward + softmax) + data().
// Training samples/s is the median over timed chunks of (steps·batch)/(chunk wall time); every step reads its
// loss back (trainOnBatch does; core mode does dataSync on the loss) so no work is left queued.
//
// The wasm backend of tfjs 4.22 has no Conv2DBackpropFilter kernel, so CNN training there throws; we register
// one built from the backend's own Transpose/Conv2D kernels (./tfjs-conv2d-backprop-filter.mjs).
// tfjs-layers is needed in both api modes: tfjs-core's node bundle registers no gradients, the tfjs-layers
// (and @tensorflow/tfjs) bundles do, as an import side effect.

import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import os from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers"; // also registers tfjs-core's gradients (side effect)
import "@tensorflow/tfjs-backend-cpu";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import { registerConv2DBackpropFilterWasm } from "./tfjs-conv2d-backprop-filter.mjs";

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------- options

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: "string", default: "wasm" },
      model: { type: "string", default: "mlp" },
      api: { type: "string", default: "layers" },
      batch: { type: "string", default: "64" },
      samples: { type: "string", default: "8000" },
      epochs: { type: "string", default: "1" },
      warmup: { type: "string", default: "10" },
      chunk: { type: "string", default: "0" },
      "max-seconds": { type: "string", default: "60" },
      "infer-batch": { type: "string", default: "256" },
      "infer-samples": { type: "string", default: "4096" },
      "no-gemm": { type: "boolean", default: false },
      "gemm-ms": { type: "string", default: "300" },
      threads: { type: "string" },
      seed: { type: "string", default: "1" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  const int = (name, min = 0) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${values[name]}'`);
    return v;
  };
  const oneOf = (name, allowed) => {
    if (!allowed.includes(values[name])) throw new Error(`--${name} must be one of ${allowed.join("|")}, got '${values[name]}'`);
    return values[name];
  };
  return {
    help: values.help,
    backend: oneOf("backend", ["wasm", "cpu"]),
    model: oneOf("model", ["mlp", "mlp512", "cnn"]),
    api: oneOf("api", ["layers", "core"]),
    batch: int("batch", 1),
    samples: int("samples", 1),
    epochs: int("epochs", 1),
    warmup: int("warmup", 0),
    chunk: int("chunk", 0),
    maxSeconds: Number(values["max-seconds"]),
    inferBatches: values["infer-batch"].split(",").filter(Boolean).map((s) => {
      const v = Number(s);
      if (!Number.isInteger(v) || v < 1) throw new Error(`--infer-batch entries must be positive integers, got '${s}'`);
      return v;
    }),
    inferSamples: int("infer-samples", 1),
    gemm: !values["no-gemm"],
    gemmMs: Number(values["gemm-ms"]),
    threads: values.threads == null ? null : int("threads", 1),
    seed: int("seed", 0),
    json: values.json,
  };
}

// ---------------------------------------------------------------- helpers

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x, digits = 1) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const now = () => performance.now();

async function initBackend(opts) {
  const info = { name: opts.backend, simd: null, threadsSupported: null, threads: 1, wasmBinary: null };
  if (opts.backend === "wasm") {
    const dist = join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/";
    tfwasm.setWasmPaths(dist); // local files, no fetch
    if (opts.threads != null) tfwasm.setThreadsCount(opts.threads);
    if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed");
    info.simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    info.threadsSupported = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    info.threads = tfwasm.getThreadsCount();
    info.wasmBinary = info.simd && info.threadsSupported ? "tfjs-backend-wasm-threaded-simd.wasm"
      : info.simd ? "tfjs-backend-wasm-simd.wasm" : "tfjs-backend-wasm.wasm";
    registerConv2DBackpropFilterWasm(tf);
  } else {
    if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') failed");
  }
  await tf.ready();
  return info;
}

// ---------------------------------------------------------------- models

/** tfjs-layers Sequential model, compiled. Returns { trainStep(x, y) → loss, predict(x) → Tensor, params }. */
function buildLayersModel(kind, seed) {
  let layerSeed = seed * 1000;
  const init = () => tfl.initializers.glorotUniform({ seed: layerSeed++ });
  const dense = (units, activation, extra = {}) =>
    tfl.layers.dense({ units, activation, kernelInitializer: init(), biasInitializer: "zeros", ...extra });
  const conv = (filters, extra = {}) =>
    tfl.layers.conv2d({ filters, kernelSize: 3, activation: "relu", padding: "valid", kernelInitializer: init(), biasInitializer: "zeros", ...extra });
  const model = tfl.sequential();
  const inputShape = [28, 28, 1];
  if (kind === "mlp") {
    model.add(tfl.layers.flatten({ inputShape }));
    model.add(dense(128, "relu"));
    model.add(dense(10, "softmax"));
  } else if (kind === "mlp512") {
    model.add(tfl.layers.flatten({ inputShape }));
    model.add(dense(512, "relu"));
    model.add(tfl.layers.dropout({ rate: 0.2, seed: seed + 7 }));
    model.add(dense(10, "softmax"));
  } else {
    model.add(conv(32, { inputShape }));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    model.add(conv(64));
    model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
    model.add(conv(64));
    model.add(tfl.layers.flatten());
    model.add(dense(64, "relu"));
    model.add(dense(10, "softmax"));
  }
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "sparseCategoricalCrossentropy" });
  return {
    params: model.countParams(),
    async trainStep(x, yInt) {
      const y = tf.tidy(() => tf.reshape(tf.cast(yInt, "float32"), [-1, 1]));
      try {
        const loss = await model.trainOnBatch(x, y);
        return Array.isArray(loss) ? loss[0] : loss;
      } finally {
        y.dispose();
      }
    },
    predict: (x) => model.predictOnBatch(x),
    dispose: () => model.dispose(),
  };
}

/** The same networks on tfjs-core ops only: fused matMul/conv2d (+bias+relu), adam.minimize. */
function buildCoreModel(kind, seed) {
  let s = seed * 1000;
  const vars = [];
  const glorot = (shape, fanIn, fanOut) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const v = tf.variable(tf.randomUniform(shape, -limit, limit, "float32", s++));
    vars.push(v);
    return v;
  };
  const zeros = (n) => {
    const v = tf.variable(tf.zeros([n]));
    vars.push(v);
    return v;
  };
  const denseP = (i, o) => ({ W: glorot([i, o], i, o), b: zeros(o) });
  const convP = (ci, co) => ({ W: glorot([3, 3, ci, co], 9 * ci, 9 * co), b: zeros(co) });
  const dense = (x, p, activation) => tf.fused.matMul({ a: x, b: p.W, bias: p.b, activation });
  const conv = (x, p) => tf.fused.conv2d({ x, filter: p.W, strides: 1, pad: "valid", bias: p.b, activation: "relu" });
  let forward; // (x, training) → logits
  if (kind === "mlp" || kind === "mlp512") {
    const hidden = kind === "mlp" ? 128 : 512;
    const l1 = denseP(784, hidden);
    const l2 = denseP(hidden, 10);
    let dropoutSeed = seed + 7;
    forward = (x, training) => {
      let h = dense(tf.reshape(x, [x.shape[0], 784]), l1, "relu");
      if (kind === "mlp512" && training) h = tf.dropout(h, 0.2, undefined, dropoutSeed++);
      return dense(h, l2, "linear");
    };
  } else {
    const c1 = convP(1, 32);
    const c2 = convP(32, 64);
    const c3 = convP(64, 64);
    const d1 = denseP(3 * 3 * 64, 64);
    const d2 = denseP(64, 10);
    forward = (x) => {
      let h = tf.maxPool(conv(x, c1), 2, 2, "valid");
      h = tf.maxPool(conv(h, c2), 2, 2, "valid");
      h = conv(h, c3);
      h = dense(tf.reshape(h, [h.shape[0], 576]), d1, "relu");
      return dense(h, d2, "linear");
    };
  }
  const optimizer = tf.train.adam(1e-3);
  return {
    params: vars.reduce((n, v) => n + v.size, 0),
    async trainStep(x, yInt) {
      const loss = optimizer.minimize(() => {
        const logits = forward(x, true);
        // Dense(10, softmax) + sparse categorical cross-entropy, computed stably from the logits.
        return tf.losses.softmaxCrossEntropy(tf.oneHot(yInt, 10), logits);
      }, true, vars);
      const v = loss.dataSync()[0];
      loss.dispose();
      return v;
    },
    predict: (x) => tf.tidy(() => tf.softmax(forward(x, false))),
    dispose: () => {
      optimizer.dispose();
      for (const v of vars) v.dispose();
    },
  };
}

// ---------------------------------------------------------------- measurements

async function measureTraining(model, opts, images, labels) {
  const { batch } = opts;
  const stepsPerEpoch = Math.floor(opts.samples / batch);
  if (stepsPerEpoch < 1) throw new Error(`--samples ${opts.samples} is smaller than --batch ${batch}`);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const chunkSteps = opts.chunk > 0 ? opts.chunk : Math.max(1, Math.floor(totalSteps / 12));
  // Each batch is uploaded from the JS arrays (a 200 KB copy at batch 64), as a streaming input pipeline does.
  // Not tf.slice of one big data-set tensor: on 'wasm' Slice reads the *whole* source tensor back (readSync
  // copies it out of the heap) on every call, which at 8000 samples (25 MB) halves MLP throughput.
  const batchAt = (step) => {
    const i = (step % stepsPerEpoch) * batch;
    return [
      tf.tensor4d(images.subarray(i * 784, (i + batch) * 784), [batch, 28, 28, 1]),
      tf.tensor1d(labels.subarray(i, i + batch), "int32"),
    ];
  };
  const runStep = async (step) => {
    const [x, y] = batchAt(step);
    try {
      return await model.trainStep(x, y);
    } finally {
      x.dispose();
      y.dispose();
    }
  };

  const tensorsBefore = tf.memory().numTensors;
  const warmStart = now();
  let firstLoss = NaN;
  for (let i = 0; i < opts.warmup; i++) {
    const l = await runStep(i);
    if (i === 0) firstLoss = l;
  }
  const warmupSeconds = (now() - warmStart) / 1000;
  const tensorsAfterWarmup = tf.memory().numTensors;

  const chunks = [];
  let step = 0;
  let lastLoss = NaN;
  let truncated = false;
  const start = now();
  while (step < totalSteps) {
    const n = Math.min(chunkSteps, totalSteps - step);
    const t0 = now();
    for (let i = 0; i < n; i++) {
      lastLoss = await runStep(step + i);
      if (!Number.isFinite(firstLoss)) firstLoss = lastLoss;
    }
    const dt = (now() - t0) / 1000;
    step += n;
    chunks.push({ steps: n, seconds: dt, samplesPerSec: (n * batch) / dt });
    if ((now() - start) / 1000 > opts.maxSeconds && step < totalSteps) {
      truncated = true;
      break;
    }
  }
  const seconds = (now() - start) / 1000;
  // A partial last chunk is noisier; leave it out of the median when there are enough full ones.
  const full = chunks.filter((c) => c.steps === chunkSteps);
  const forMedian = full.length >= 3 ? full : chunks;
  return {
    samplesPerSec: round(median(forMedian.map((c) => c.samplesPerSec))),
    meanSamplesPerSec: round((step * batch) / seconds),
    stepsTimed: step,
    samplesTimed: step * batch,
    stepsPlanned: totalSteps,
    chunkSteps,
    chunks: chunks.map((c) => ({ steps: c.steps, seconds: round(c.seconds, 4), samplesPerSec: round(c.samplesPerSec) })),
    seconds: round(seconds, 3),
    warmupSteps: opts.warmup,
    warmupSeconds: round(warmupSeconds, 3),
    truncated,
    firstLoss: round(firstLoss, 4),
    lastLoss: round(lastLoss, 4),
    tensorLeakPerStep: step > 0 ? round((tf.memory().numTensors - tensorsAfterWarmup) / step, 3) : 0,
    tensorsBeforeTraining: tensorsBefore,
  };
}

async function measureInference(model, batch, opts, images) {
  const available = images.length / 784;
  const batches = Math.max(3, Math.ceil(opts.inferSamples / batch));
  const warm = 2;
  const rates = [];
  let inputs = [];
  // Up to 8 distinct input batches from the synthetic set (cycled), uploaded up front so that is not timed.
  for (let b = 0; b < Math.min(batches, 8); b++) {
    const i = (b * batch) % Math.max(1, available - batch + 1);
    inputs.push(batch <= available ? tf.tensor4d(images.slice(i * 784, (i + batch) * 784), [batch, 28, 28, 1])
      : tf.randomUniform([batch, 28, 28, 1], 0, 1, "float32", b));
  }
  const deadline = now() + Math.max(2000, opts.maxSeconds * 1000 / 4);
  let done = 0;
  for (let b = 0; b < warm + batches; b++) {
    const x = inputs[b % inputs.length];
    const t0 = now();
    const y = model.predict(x);
    await y.data(); // read the probabilities back, as an application would
    const dt = (now() - t0) / 1000;
    y.dispose();
    if (b >= warm) {
      rates.push(batch / dt);
      done += batch;
    }
    if (b >= warm + 2 && now() > deadline) break;
  }
  for (const x of inputs) x.dispose();
  inputs = [];
  return { batch, samplesPerSec: round(median(rates)), batchesTimed: rates.length, samplesTimed: done };
}

function gemmShapes() {
  // [name, m, n, k, transposeA, transposeB]; stored A is m×k (k×m when transposed), B is k×n (n×k when transposed).
  // The same shapes as wasmgrad's src/bench/measure.ts GEMM_SHAPES, so bench/compare.ts can pair them.
  return [
    ["256x256x256", 256, 256, 256, false, false],
    ["512x512x512", 512, 512, 512, false, false],
    ["1024x1024x1024", 1024, 1024, 1024, false, false],
    ["mlp fwd1 64x784·784x128", 64, 128, 784, false, false],
    ["mlp fwd2 64x128·128x10", 64, 10, 128, false, false],
    ["mlp bwd dW1 = Xᵀ·dH (784x64·64x128)", 784, 128, 64, true, false],
    ["mlp bwd dW2 = Hᵀ·dY (128x64·64x10)", 128, 10, 64, true, false],
    ["mlp bwd dH = dY·W2ᵀ (64x10·10x128)", 64, 128, 10, false, true],
    ["cnn conv2 fwd 7744x288·288x64", 7744, 64, 288, false, false],
    ["cnn conv2 dW 288x7744ᵀ·7744x64", 288, 64, 7744, true, false],
  ];
}

function measureGemm(opts) {
  const out = [];
  for (const [name, m, n, k, ta, tb] of gemmShapes()) {
    const a = tf.randomUniform(ta ? [k, m] : [m, k], -1, 1, "float32", 1);
    const b = tf.randomUniform(tb ? [n, k] : [k, n], -1, 1, "float32", 2);
    const call = () => tf.matMul(a, b, ta, tb);
    const once = () => {
      const c = call();
      c.dataSync(); // tfjs backends used here run synchronously; this only makes that explicit
      c.dispose();
    };
    for (let i = 0; i < 3; i++) once();
    // Calibrate reps so one timed chunk is ~gemmMs/5, then take the median of 5 chunks.
    let t0 = now();
    once();
    const single = Math.max(1e-3, now() - t0);
    const reps = Math.max(1, Math.round(opts.gemmMs / 5 / single));
    const perCall = [];
    for (let c = 0; c < 5; c++) {
      t0 = now();
      for (let r = 0; r < reps; r++) {
        const y = call();
        y.dispose();
      }
      perCall.push((now() - t0) / reps);
    }
    const ms = median(perCall);
    out.push({ name, m, n, k, transposeA: ta, transposeB: tb, msPerCall: round(ms, 4), gflops: round((2 * m * n * k) / (ms * 1e6), 2), reps });
    a.dispose();
    b.dispose();
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.help) {
    const src = await import("node:fs").then((fs) => fs.readFileSync(new URL(import.meta.url), "utf8"));
    const lines = src.split("\n").slice(1);
    const end = lines.findIndex((l) => !l.startsWith("//"));
    console.log(lines.slice(0, end).map((l) => l.slice(3)).join("\n"));
    return;
  }
  tf.env().set("PROD", true); // no debug checks (tfjs default under node is already non-debug)
  const backend = await initBackend(opts);

  // Synthetic data set, kept in JS arrays (see batchAt in measureTraining).
  const rand = mulberry32(opts.seed);
  const n = Math.max(opts.samples, opts.batch);
  const img = new Float32Array(n * 784);
  for (let i = 0; i < img.length; i++) img[i] = rand();
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) lab[i] = Math.floor(rand() * 10);
  const images = img;
  const labels = lab;

  const model = opts.api === "layers" ? buildLayersModel(opts.model, opts.seed) : buildCoreModel(opts.model, opts.seed);
  const train = await measureTraining(model, opts, images, labels);
  const inference = [];
  for (const b of opts.inferBatches) inference.push(await measureInference(model, b, opts, images));
  const gemm = opts.gemm ? measureGemm(opts) : [];
  model.dispose();

  const result = {
    peer: "tfjs",
    api: opts.api,
    versions: {
      "tfjs-core": tf.version_core,
      "tfjs-layers": tfl.version_layers,
      "tfjs-backend-wasm": tfwasm.version_wasm,
      node: process.version,
    },
    backend,
    host: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null },
    model: opts.model,
    params: model.params,
    batch: opts.batch,
    samples: opts.samples,
    epochs: opts.epochs,
    train,
    inference,
    gemm,
  };

  if (opts.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  const b = backend;
  console.log(`tfjs ${tf.version_core} (${opts.api}) on '${b.name}'` +
    (b.name === "wasm" ? ` [${b.wasmBinary}, threads ${b.threads}, threaded build ${b.threadsSupported ? "yes" : "no"}]` : "") +
    `, node ${process.version}`);
  console.log(`model ${opts.model} (${model.params} params), batch ${opts.batch}, ${train.samplesTimed} samples timed` +
    `${train.truncated ? " (truncated by --max-seconds)" : ""}, loss ${train.firstLoss} → ${train.lastLoss}`);
  console.log(`  train      ${String(train.samplesPerSec).padStart(10)} samples/s (median of ${train.chunks.length} chunks × ${train.chunkSteps} steps; mean ${train.meanSamplesPerSec})`);
  for (const r of inference) console.log(`  infer b${String(r.batch).padEnd(4)} ${String(r.samplesPerSec).padStart(10)} samples/s`);
  for (const g of gemm) console.log(`  matMul ${g.name.padEnd(38)} ${String(g.gflops).padStart(8)} GFLOPS  (${g.msPerCall} ms)`);
  if (train.tensorLeakPerStep !== 0) console.log(`  warning: ${train.tensorLeakPerStep} tensors leaked per training step`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  },
);
