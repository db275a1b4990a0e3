// PyTorch-style loss objects. criterion.call(output, target) returns a LossValue whose backward()
// back-propagates through the model that produced `output`, into its parameters' gradients.

import { InputError } from "../errors";
import type { TargetData } from "../data/samples";
import type { LossSpec } from "../model/losses";
import type { Tensor } from "../tensor";
import { OUTPUT_OWNER, type Engine } from "./modules";
import { optimizerOf } from "./optim";
import { SGD as SGDOptimizer } from "../optimizers/sgd";

export class LossValue {
  private used = false;
  constructor(private readonly engine: Engine, private readonly target: TargetData, readonly value: number) {}

  item(): number {
    return this.value;
  }

  /** Gradients of this loss for every parameter (added to what is there unless optimizer.zeroGrad() ran). */
  backward(): void {
    if (this.used) throw new InputError("backward() was already called on this loss (and on its forward pass)");
    this.used = true;
    this.engine.model.backwardBatch(this.target, { accumulate: !this.engine.gradientsZeroed });
    this.engine.gradientsZeroed = false;
  }
}

abstract class Loss {
  protected abstract readonly spec: LossSpec;
  protected abstract readonly name: string;

  call(output: Tensor, target: TargetData): LossValue {
    const engine = OUTPUT_OWNER.get(output);
    if (!engine) throw new InputError(`${this.name}: the output must come straight from a module's call()`);
    compileFor(engine, this.spec, this.name);
    return new LossValue(engine, target, engine.model.batchLoss(target));
  }
}

/** Compiles the model with this loss (and its registered optimizer) the first time a loss is taken. */
export function compileFor(engine: Engine, spec: LossSpec, name: string): void {
  const optimizer = optimizerOf(engine) ?? null;
  if (engine.compiledWith) {
    if (engine.compiledWith.loss !== name) throw new InputError(`this model trains with ${engine.compiledWith.loss}; use one loss per model`);
    if (engine.compiledWith.optimizer === optimizer) return;
  }
  // Without an optimizer yet, gradients can still be computed; a zero-rate SGD holds the place.
  engine.model.compile({ optimizer: optimizer?.engineOptimizer ?? new SGDOptimizer({ learningRate: 0 }), loss: spec, accumulateGradients: true });
  engine.compiledWith = { optimizer, loss: name };
}

/** Softmax cross-entropy on logits, integer class targets. */
export class CrossEntropyLoss extends Loss {
  protected readonly spec: LossSpec = { type: "sparseCategoricalCrossentropy", fromLogits: true };
  protected readonly name = "CrossEntropyLoss";
}

/** Negative log-likelihood of log_softmax outputs: the same function as CrossEntropyLoss on logits. */
export class NLLLoss extends Loss {
  protected readonly spec: LossSpec = { type: "sparseCategoricalCrossentropy", fromLogits: true };
  protected readonly name = "NLLLoss";
}

export class MSELoss extends Loss {
  protected readonly spec: LossSpec = { type: "meanSquaredError" };
  protected readonly name = "MSELoss";
}

/** Binary cross-entropy on probabilities (the model ends in a sigmoid). */
export class BCELoss extends Loss {
  protected readonly spec: LossSpec = { type: "binaryCrossentropy" };
  protected readonly name = "BCELoss";
}

export class BCEWithLogitsLoss extends Loss {
  protected readonly spec: LossSpec = { type: "binaryCrossentropy", fromLogits: true };
  protected readonly name = "BCEWithLogitsLoss";
}
