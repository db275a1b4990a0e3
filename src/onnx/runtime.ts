// Running ONNX models with onnxruntime-web: any model it supports, not only wasmgrad's. The execution
// provider is chosen as the user asked — "webgpu", "wasm", or "auto" (WebGPU when the runtime has a
// WebGPU adapter, WASM otherwise) — and the session reports which one actually ran and why.
//
// Loading: the host (the CLI, a test) may first call configureOnnxRuntime() with the runtime's
// WebAssembly binary and a WebGPU provider; otherwise onnxruntime-web finds its files itself.

import type * as Ort from "onnxruntime-web";
import { InputError, WasmgradError } from "../errors";
import { withShrinkingSharedMemory } from "./shrinking-memory";

export type ProviderChoice = "auto" | "webgpu" | "wasm";
export const PROVIDER_CHOICES: ProviderChoice[] = ["auto", "webgpu", "wasm"];

export interface OnnxRuntimeHost {
  /** The onnxruntime-web module for the WASM provider. */
  wasm: () => Promise<typeof Ort>;
  /**
   * The onnxruntime-web module built with WebGPU once an adapter is known to exist (or why there is none),
   * with the provider entry to pass (a device the host created, say) and a description of the adapter.
   */
  webgpu?: () => Promise<WebGpuRuntime | { unavailable: string }>;
  /**
   * Runs the runtime's calls (adapter discovery, session creation, runs) so that what native code prints
   * meanwhile is held back — Dawn's and onnxruntime's warnings — unless the user asked to see it.
   */
  quiet?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Let onnxruntime log its warnings (default: errors only). */
  warnings?: boolean;
}

export interface WebGpuRuntime {
  ort: typeof Ort;
  provider?: Ort.InferenceSession.ExecutionProviderConfig;
  adapter?: string;
}

/** Plain onnxruntime-web: WebGPU only where the runtime has navigator.gpu (Deno, browsers). */
export const DEFAULT_ONNX_RUNTIME: OnnxRuntimeHost = {
  wasm: () => import("onnxruntime-web"),
  webgpu: async () => {
    const reason = await webgpuUnavailableReason();
    if (reason) return { unavailable: reason };
    return { ort: (await import("onnxruntime-web/webgpu")) as unknown as typeof Ort };
  },
};

let host = DEFAULT_ONNX_RUNTIME;

export function configureOnnxRuntime(h: OnnxRuntimeHost): void {
  host = h;
}

/** Why WebGPU cannot run here, or undefined when an adapter exists. */
export async function webgpuUnavailableReason(): Promise<string | undefined> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(o?: unknown): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return "this runtime has no WebGPU (navigator.gpu is missing)";
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? undefined : "navigator.gpu found no GPU adapter";
  } catch (error) {
    return `requesting a WebGPU adapter failed: ${(error as Error).message}`;
  }
}

export interface TensorShapeInfo {
  name: string;
  /** Numbers for fixed sizes, strings for symbolic ones (e.g. "batch"); undefined when the model does not say. */
  shape?: readonly (number | string)[];
  type?: string;
}

export interface OnnxRunResult {
  name: string;
  dims: number[];
  data: Float32Array;
}

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | BigUint64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Uint32Array | string[];

export interface OnnxRawResult {
  name: string;
  /** onnxruntime's name for the element type: "float32", "int64", "bool", … */
  type: string;
  dims: number[];
  data: TensorData;
}

export class OnnxSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    /** The execution provider that ran: "webgpu" or "wasm". */
    readonly provider: "webgpu" | "wasm",
    /** Set when "auto" fell back to WASM: why WebGPU was not used. */
    readonly fallbackReason: string | undefined,
    readonly source: string,
    /** The WebGPU adapter, when the host could name it. */
    readonly adapter?: string,
  ) {}

  static async open(bytes: Uint8Array, options: { provider?: ProviderChoice; threads?: number; source?: string } = {}): Promise<OnnxSession> {
    const source = options.source ?? "ONNX model";
    const choice = options.provider ?? "auto";
    let fallbackReason: string | undefined;
    if (choice !== "wasm") {
      const webgpu = host.webgpu ? await quiet(host.webgpu) : { unavailable: "this build has no WebGPU provider" };
      if ("ort" in webgpu) {
        try {
          const session = await create(webgpu.ort, bytes, webgpu.provider ?? "webgpu", options.threads, source);
          return new OnnxSession(webgpu.ort, session, "webgpu", undefined, source, webgpu.adapter);
        } catch (error) {
          if (error instanceof InputError || choice === "webgpu") throw error;
          fallbackReason = `WebGPU could not run it: ${(error as Error).message}`;
        }
      } else if (choice === "webgpu") {
        throw new WasmgradError(`--ep webgpu: ${webgpu.unavailable}; use --ep wasm or --ep auto`);
      } else {
        fallbackReason = webgpu.unavailable;
      }
    }
    const ort = await host.wasm();
    return new OnnxSession(ort, await create(ort, bytes, "wasm", options.threads, source), "wasm", fallbackReason, source);
  }

  get inputs(): TensorShapeInfo[] {
    return describe(this.session.inputNames, (this.session as { inputMetadata?: readonly unknown[] }).inputMetadata);
  }

  get outputs(): TensorShapeInfo[] {
    return describe(this.session.outputNames, (this.session as { outputMetadata?: readonly unknown[] }).outputMetadata);
  }

  /** Runs the model's single float input; checks the shape against what the model declares first. */
  async run(data: Float32Array, dims: number[]): Promise<OnnxRunResult[]> {
    const inputs = this.inputs;
    if (inputs.length !== 1) throw new InputError(`${this.source} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(", ")}); wasmgrad infer feeds models with one input`);
    return this.runNamed([{ name: inputs[0].name, data, dims }]);
  }

  /** Runs the model on float inputs given by name; returns every output, raw. */
  async runNamed(feeds: { name: string; data: Float32Array; dims: number[] }[]): Promise<OnnxRunResult[]> {
    const tensors: Record<string, Ort.Tensor> = {};
    for (const feed of feeds) {
      const input = this.inputs.find((i) => i.name === feed.name);
      if (!input) throw new InputError(`${this.source} has no input '${feed.name}' (its inputs: ${this.inputs.map((i) => i.name).join(", ")})`);
      if (input.type && input.type !== "float32") throw new InputError(`${this.source} wants input '${input.name}' of type ${input.type}; wasmgrad infer feeds float32`);
      const dims = feed.dims;
      if (input.shape) {
        const fits = input.shape.length === dims.length && input.shape.every((d, i) => typeof d !== "number" || d < 0 || d === dims[i]);
        if (!fits) throw new InputError(`${this.source} expects input '${input.name}' shaped [${input.shape.join(", ")}], but the data is shaped [${dims.join(", ")}]`);
      }
      tensors[input.name] = new this.ort.Tensor("float32", feed.data, dims);
    }
    let results: Record<string, Ort.Tensor>;
    try {
      results = await quiet(() => this.session.run(tensors));
    } catch (error) {
      throw new InputError(`${this.source}: onnxruntime-web could not run it on inputs ${feeds.map((f) => `[${f.dims.join(", ")}]`).join(", ")}: ${firstLine(error)}`);
    }
    return this.session.outputNames.map((name) => {
      const t = results[name];
      if (t.type !== "float32") throw new InputError(`${this.source}: output '${name}' is ${t.type}; wasmgrad infer reads float32 outputs`);
      return { name, dims: [...t.dims], data: t.data as Float32Array };
    });
  }

  /**
   * Runs the model on tensors already of each input's type and shape (the caller has checked both: see
   * `wasmgrad infer`); returns every output as onnxruntime gives it — any type, unconverted.
   */
  async runTensors(feeds: { name: string; type: string; data: TensorData; dims: number[] }[]): Promise<OnnxRawResult[]> {
    const tensors: Record<string, Ort.Tensor> = {};
    for (const feed of feeds) tensors[feed.name] = new this.ort.Tensor(feed.type as "float32", feed.data as Float32Array, feed.dims);
    // (float16 data is given as Uint16Array bit patterns; onnxruntime takes those for "float16".)
    let results: Record<string, Ort.Tensor>;
    try {
      results = await quiet(() => this.session.run(tensors));
    } catch (error) {
      throw new InputError(`${this.source}: onnxruntime-web could not run it on inputs ${feeds.map((f) => `${f.name} [${f.dims.join(", ")}]`).join(", ")}: ${firstLine(error)}`);
    }
    return this.session.outputNames.map((name) => ({ name, type: results[name].type, dims: [...results[name].dims], data: results[name].data as TensorData }));
  }

  async release(): Promise<void> {
    await quiet(() => this.session.release());
  }
}

async function create(
  ort: typeof Ort, bytes: Uint8Array, provider: Ort.InferenceSession.ExecutionProviderConfig, threads: number | undefined, source: string,
): Promise<Ort.InferenceSession> {
  if (threads !== undefined && provider === "wasm") ort.env.wasm.numThreads = threads;
  ort.env.logLevel = host.warnings ? "warning" : "error";
  try {
    // logSeverityLevel 3 (errors): the session's own logger warns at level 2 whatever env.logLevel says.
    return await quiet(() => withShrinkingSharedMemory(() => ort.InferenceSession.create(bytes, { executionProviders: [provider], graphOptimizationLevel: "all", logSeverityLevel: host.warnings ? 2 : 3 })));
  } catch (error) {
    const message = firstLine(error);
    // A model the runtime rejects is the user's input; a provider that fails to start is not.
    if (/protobuf|failed to load model|load model from|parse|opset|not implemented/i.test(message)) throw new InputError(`${source}: not a model onnxruntime-web can run: ${message}`);
    throw new WasmgradError(`${source}: onnxruntime-web (${typeof provider === "string" ? provider : provider.name}) failed: ${message}`);
  }
}

/** `work` through the host's quiet(), or as it is. */
function quiet<T>(work: () => Promise<T>): Promise<T> {
  return host.quiet ? host.quiet(work) : work();
}

function describe(names: readonly string[], metadata: readonly unknown[] | undefined): TensorShapeInfo[] {
  return names.map((name, i) => {
    const m = metadata?.[i] as { isTensor?: boolean; shape?: readonly (number | string)[]; type?: string } | undefined;
    return m?.isTensor ? { name, shape: m.shape, type: m.type } : { name };
  });
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split("\n")[0].slice(0, 300);
}
