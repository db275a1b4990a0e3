// The PyTorch-style API: the seed's PyTorch MNIST script written against wasmgrad (nn.Module, forward,
// parameters(), CrossEntropyLoss, optim.SGD with momentum, zeroGrad/backward/step, a shuffling
// DataLoader) reaches the Keras-style MLP's accuracy; one step equals Sequential.trainOnBatch exactly;
// PyTorch's semantics for gradient accumulation, log_softmax + NLLLoss and train()/eval() hold.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DataLoader, F, nn, optim, Sequential, TensorDataset, datasetFromIdx, tensor, toFloatImages, Dense } from "../../src/index";
import type { Value } from "../../src/nn/trace";
import { seededValues } from "../support/twin-heaps";

const sample = join(import.meta.dir, "..", "..", "build", "mnist-sample");
const load = (split: string) => datasetFromIdx(readFileSync(join(sample, `${split}-images-idx3-ubyte.gz`)), readFileSync(join(sample, `${split}-labels-idx1-ubyte.gz`)), split, split);

/** The seed's network: x.view(-1, 784) → fc1 → ReLU → fc2 (logits). */
class Net extends nn.Module {
  fc1 = new nn.Linear(784, 128);
  fc2 = new nn.Linear(128, 10);
  forward(x: Value): Value {
    x = x.view(-1, 784);
    x = F.relu(this.fc1.call(x));
    return this.fc2.call(x);
  }
}

function accuracy(model: nn.Module, x: Float32Array, labels: Uint8Array): number {
  model.eval();
  const out = model.call(tensor(x, [labels.length, 28, 28, 1]));
  let correct = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let j = 1; j < 10; j++) if (out.data[r * 10 + j] > out.data[r * 10 + best]) best = j;
    if (best === labels[r]) correct++;
  }
  return correct / labels.length;
}

describe("the seed's PyTorch MNIST script, in TypeScript", () => {
  test("trains to the Keras-style MLP's accuracy (≥ 95% on the 2,000 held-out digits)", async () => {
    const train = await load("train"), testSet = await load("t10k");
    const loader = new DataLoader(new TensorDataset(tensor(toFloatImages(train), [train.count, 28, 28, 1]), Int32Array.from(train.labels)), { batchSize: 32, shuffle: true });
    const model = new Net();
    const criterion = new nn.CrossEntropyLoss();
    // The recipe models/mlp.json trains the Keras-style MLP with: Nesterov momentum, lr ×0.6 per epoch.
    const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
    let firstLoss = 0, lastLoss = 0;
    for (let epoch = 0; epoch < 5; epoch++) {
      model.train();
      for (const [images, labels] of loader) {
        optimizer.zeroGrad();
        const output = model.call(images);
        const loss = criterion.call(output, labels);
        loss.backward();
        optimizer.step();
        lastLoss = loss.item();
        firstLoss ||= lastLoss;
      }
      optimizer.lr *= 0.6;
    }
    expect(lastLoss).toBeLessThan(firstLoss);
    const acc = accuracy(model, toFloatImages(testSet), testSet.labels);
    console.log(`PyTorch-style MLP test accuracy: ${(100 * acc).toFixed(2)}%`);
    expect(acc).toBeGreaterThanOrEqual(0.95);
    expect(model.model.layers.map((l) => l.type)).toEqual(["Flatten", "Dense", "Dense"]);
  });
});

describe("PyTorch semantics", () => {
  const x = tensor(seededValues(8 * 12, 3, 0, 1), [8, 12]);
  const y = Int32Array.from({ length: 8 }, (_, i) => i % 3);

  class Small extends nn.Module {
    fc = new nn.Linear(12, 3);
    forward(v: Value): Value {
      return this.fc.call(v);
    }
  }

  test("one zeroGrad/backward/step equals Sequential.trainOnBatch from the same weights", () => {
    const module = new Small();
    const optimizer = new optim.SGD(module.parameters(), { lr: 0.1, momentum: 0.9 });
    module.call(x); // builds the model
    const twin = new Sequential({ inputShape: [12], layers: [new Dense({ units: 3 })] });
    twin.compile({ optimizer: { type: "sgd", learningRate: 0.1, momentum: 0.9 }, loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
    twin.setWeights(module.model.getWeights());
    for (let step = 0; step < 3; step++) {
      optimizer.zeroGrad();
      const loss = new nn.CrossEntropyLoss().call(module.call(x), y);
      loss.backward();
      optimizer.step();
      const twinLoss = twin.trainOnBatch(x.data, y);
      expect(loss.item()).toBeCloseTo(twinLoss, 6);
    }
    module.model.getWeights().forEach((w, i) => expect(Array.from(w.data)).toEqual(Array.from(twin.getWeights()[i].data)));
  });

  test("without zeroGrad, backward passes add their gradients", () => {
    const module = new Small();
    new optim.SGD(module.parameters(), { lr: 0.1 });
    const criterion = new nn.CrossEntropyLoss();
    criterion.call(module.call(x), y).backward();
    const once = module.model.params.map((p) => module.model.computeGradients(x, y, { training: true }).grads[module.model.params.indexOf(p)].data);
    // computeGradients left one batch's gradients in place; two more backward passes add two more.
    criterion.call(module.call(x), y).backward();
    criterion.call(module.call(x), y).backward();
    const heap = module.model.kernels.memory.buffer;
    module.model.params.forEach((p, i) => {
      const accumulated = new Float32Array(heap, p.grad, p.size);
      for (let j = 0; j < p.size; j++) expect(accumulated[j]).toBeCloseTo(3 * once[i][j], 5);
    });
  });

  test("log_softmax + NLLLoss: call() returns log-probabilities, and training matches cross-entropy on logits", () => {
    class LogNet extends nn.Module {
      fc = new nn.Linear(12, 3);
      forward(v: Value): Value {
        return F.logSoftmax(this.fc.call(v), 1);
      }
    }
    const a = new LogNet(), b = new Small();
    const out = a.call(x);
    for (let r = 0; r < 8; r++) expect(Math.exp(out.data[r * 3]) + Math.exp(out.data[r * 3 + 1]) + Math.exp(out.data[r * 3 + 2])).toBeCloseTo(1, 5);
    b.call(x);
    b.model.setWeights(a.model.getWeights());
    const la = new nn.NLLLoss().call(a.call(x), y).item(), lb = new nn.CrossEntropyLoss().call(b.call(x), y).item();
    expect(la).toBeCloseTo(lb, 6);
  });

  test("train() and eval(): dropout is active only in training mode", () => {
    class Dropper extends nn.Module {
      fc = new nn.Linear(12, 3);
      drop = new nn.Dropout(0.5);
      forward(v: Value): Value {
        return this.fc.call(this.drop.call(v));
      }
    }
    const m = new Dropper();
    const t1 = m.call(x).data, t2 = m.call(x).data;
    expect(Array.from(t1)).not.toEqual(Array.from(t2));
    m.eval();
    expect(Array.from(m.call(x).data)).toEqual(Array.from(m.call(x).data));
  });

  test("a CNN written with Conv2d, MaxPool2d, F.relu, Dropout and nn.Sequential traces to fused wasmgrad layers", () => {
    const cnn = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 6, 3), new nn.ReLU(), new nn.Flatten(), new nn.Dropout(0.25), new nn.Linear(6 * 2 * 2, 10),
    );
    const out = cnn.call(tensor(seededValues(2 * 64, 1, 0, 1), [2, 8, 8, 1]));
    expect(out.shape).toEqual([2, 10]);
    expect(cnn.model.layers.map((l) => l.type)).toEqual(["Conv2D", "MaxPool2D", "Conv2D", "Flatten", "Dropout", "Dense"]);
  });

  test("mistakes are clear errors: a merge of unequal shapes, wrong sizes, a second backward", () => {
    class Unequal extends nn.Module {
      a = new nn.Linear(12, 3);
      forward(v: Value): Value {
        return v.add(this.a.call(v));
      }
    }
    expect(() => new Unequal().call(x)).toThrow(/needs inputs of one shape, got \[12\], \[3\]/);
    class Wrong extends nn.Module {
      fc = new nn.Linear(10, 3);
      forward(v: Value): Value {
        return this.fc.call(v);
      }
    }
    expect(() => new Wrong().call(x)).toThrow(/Linear\(10, 3\) gets inputs shaped \[12\]/);
    const m = new Small();
    const loss = new nn.CrossEntropyLoss().call(m.call(x), y);
    loss.backward();
    expect(() => loss.backward()).toThrow(/already called/);
    expect(() => new nn.CrossEntropyLoss().call(tensor(new Float32Array(24), [8, 3]), y)).toThrow(/straight from a module/);
  });
});
