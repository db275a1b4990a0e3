// PyTorch-style optimizers: optim.SGD(model.parameters(), { lr, momentum }) and friends, with PyTorch's
// option names and defaults, over wasmgrad's fused optimizer kernels. Adam and AdamW add ε where PyTorch
// does, to the bias-corrected √v̂ (Keras adds it to √v; see epsilonAfterCorrection), with PyTorch's ε 1e-8.

import { InputError } from "../errors";
import { Adam as AdamOptimizer } from "../optimizers/adam";
import { AdamW as AdamWOptimizer } from "../optimizers/adamw";
import type { Optimizer as EngineOptimizer } from "../optimizers/optimizer";
import { RMSprop as RMSpropOptimizer } from "../optimizers/rmsprop";
import { SGD as SGDOptimizer } from "../optimizers/sgd";
import type { Engine, Module, ParameterGroup } from "./modules";

const REGISTERED = new WeakMap<Module<unknown>, Optimizer>();

export abstract class Optimizer {
  readonly module: Module<unknown>;

  constructor(params: ParameterGroup, readonly engineOptimizer: EngineOptimizer) {
    if (!params || !("module" in params)) throw new InputError("pass model.parameters() to the optimizer");
    this.module = params.module;
    REGISTERED.set(this.module, this);
  }

  /** Sets every gradient to zero; the next backward() then writes rather than adds. */
  zeroGrad(): void {
    let engine: Engine;
    try {
      engine = this.module.engineFor("zeroGrad");
    } catch {
      return; // no model yet: nothing to zero
    }
    engine.model.zeroGradients();
    engine.gradientsZeroed = true;
  }
  zero_grad(): void {
    this.zeroGrad();
  }

  /** One update of every trainable parameter from its gradient. */
  step(): void {
    const engine = this.module.engineFor("optimizer.step()");
    if (!engine.compiledWith) throw new InputError("optimizer.step() needs gradients: compute a loss and call loss.backward() first");
    if (engine.compiledWith.optimizer !== this) {
      engine.model.compile({ optimizer: this.engineOptimizer, loss: engine.model.loss!.spec, accumulateGradients: true });
      engine.compiledWith = { optimizer: this, loss: engine.compiledWith.loss };
      throw new InputError("this optimizer was created after the loss was first computed; its state starts now — call backward() again before step()");
    }
    engine.model.applyGradients();
  }

  get lr(): number {
    return this.engineOptimizer.learningRate;
  }
  set lr(value: number) {
    this.engineOptimizer.learningRate = value;
  }
}

/** The optimizer created for the module behind `engine`, if any. */
export function optimizerOf(engine: Engine): Optimizer | undefined {
  return REGISTERED.get(engine.owner);
}

export class SGD extends Optimizer {
  constructor(params: ParameterGroup, options: { lr: number; momentum?: number; nesterov?: boolean }) {
    super(params, new SGDOptimizer({ learningRate: options.lr, momentum: options.momentum ?? 0, nesterov: options.nesterov ?? false }));
  }
}

export class Adam extends Optimizer {
  constructor(params: ParameterGroup, options: { lr?: number; betas?: [number, number]; eps?: number } = {}) {
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    super(params, new AdamOptimizer({ learningRate: options.lr ?? 1e-3, beta1, beta2, epsilon: options.eps ?? 1e-8, epsilonAfterCorrection: true }));
  }
}

export class AdamW extends Optimizer {
  constructor(params: ParameterGroup, options: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number } = {}) {
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    super(params, new AdamWOptimizer({
      learningRate: options.lr ?? 1e-3, beta1, beta2, epsilon: options.eps ?? 1e-8, epsilonAfterCorrection: true, weightDecay: options.weightDecay ?? 0.01,
    }));
  }
}

export class RMSprop extends Optimizer {
  constructor(params: ParameterGroup, options: { lr?: number; alpha?: number; eps?: number } = {}) {
    super(params, new RMSpropOptimizer({ learningRate: options.lr ?? 1e-2, rho: options.alpha ?? 0.99, epsilon: options.eps ?? 1e-8 }));
  }
}
