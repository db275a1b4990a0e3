// PyTorch-style modules whose forward() branches and merges: a residual connection (x + f(x)), torch.cat,
// a module called twice (shared weights) and nn.ModuleList. The tracer must build the graph the
// functional API builds: the same layers, and one SGD step equal bit for bit to the functional model's
// trainOnBatch on the same weights.

import { describe, expect, test } from "bun:test";
import { Activation, Add, Concatenate, Dense, F, Input, Model, nn, optim, tensor } from "../../src/index";
import type { Value } from "../../src/nn/trace";
import { seededValues } from "../support/twin-heaps";

const B = 8;
const x = tensor(seededValues(B * 12, 3), [B, 12]);
const y = Int32Array.from({ length: B }, (_, i) => i % 3);

/** One SGD step through the module (zeroGrad, loss.backward, step); returns its weights after. */
function stepModule(module: nn.Module, weights: Float32Array[]): Float32Array[] {
  module.call(x); // traces the model
  module.model.setWeights(weights);
  const optimizer = new optim.SGD(module.parameters(), { lr: 0.1 });
  optimizer.zeroGrad();
  new nn.CrossEntropyLoss().call(module.call(x), y).backward();
  optimizer.step();
  return module.model.getWeights().map((t) => t.data);
}

function stepFunctional(model: Model, weights: Float32Array[]): Float32Array[] {
  model.setWeights(weights);
  model.compile({ optimizer: { type: "sgd", learningRate: 0.1 }, loss: { type: "sparseCategoricalCrossentropy", fromLogits: true } });
  model.trainOnBatch(x.data, y);
  return model.getWeights().map((t) => t.data);
}

const randomWeights = (model: Model) => model.params.map((p, i) => seededValues(p.size, 40 + i, -0.5, 0.5));
const types = (m: Model) => m.executionPlan.steps.map((s) => s.layer.type + (s.layer.sharesWeightsOf ? "(shared)" : ""));

describe("PyTorch-style forward() with branches, merges and shared modules", () => {
  test("a residual connection: fc2(relu(fc1(x)) + x)", () => {
    class Residual extends nn.Module {
      fc1 = new nn.Linear(12, 12);
      fc2 = new nn.Linear(12, 3);
      forward(v: Value): Value {
        return this.fc2.call(F.relu(this.fc1.call(v)).add(v));
      }
    }
    const input = Input({ shape: [12] });
    const h = new Dense({ units: 12, activation: "relu" }).apply(input);
    const functional = new Model({ inputs: input, outputs: new Dense({ units: 3 }).apply(new Add().apply([h, input])) });
    const module = new Residual();
    module.call(x);
    expect(types(module.model)).toEqual(["Dense", "Add", "Dense"]);
    const w = randomWeights(functional);
    expect(stepModule(module, w)).toEqual(stepFunctional(functional, w));
  });

  test("a module called twice shares its weights; torch.cat joins the two", () => {
    class Siamese extends nn.Module {
      encoder = new nn.Linear(12, 4);
      head = new nn.Linear(8, 3);
      forward(v: Value): Value {
        return this.head.call(F.cat([this.encoder.call(v), this.encoder.call(F.relu(v))], 1));
      }
    }
    const input = Input({ shape: [12] });
    const encoder = new Dense({ units: 4 });
    const module = new Siamese();
    module.call(x);
    expect(types(module.model)).toEqual(["Dense", "Activation", "Dense(shared)", "Concatenate", "Dense"]);
    expect(module.model.params.map((p) => p.shape)).toEqual([[12, 4], [4], [8, 3], [3]]);
    const functional = new Model({
      inputs: input,
      outputs: new Dense({ units: 3 }).apply(new Concatenate().apply([encoder.apply(input), encoder.apply(new Activation({ activation: "relu" }).apply(input))])),
    });
    const w = randomWeights(functional);
    expect(stepModule(module, w)).toEqual(stepFunctional(functional, w));
  });

  test("nn.ModuleList of residual blocks", () => {
    class Stack extends nn.Module {
      blocks = new nn.ModuleList([new nn.Linear(12, 12), new nn.Linear(12, 12)]);
      out = new nn.Linear(12, 3);
      forward(v: Value): Value {
        for (const block of this.blocks.modules) v = v.add(F.tanh(block.call(v)));
        return this.out.call(v);
      }
    }
    const module = new Stack();
    module.call(x);
    expect(types(module.model)).toEqual(["Dense", "Add", "Dense", "Add", "Dense"]);
    expect(module.model.summary()).toContain("Connected to");
  });
});
