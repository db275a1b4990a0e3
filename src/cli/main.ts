// The wasmgrad command line. Every failure a user can cause ends in one line on stderr and a non-zero
// exit; a stack trace appears only for internal errors, and only with WASMGRAD_DEBUG=1.

import { cac } from "cac";
import packageJson from "../../package.json" with { type: "json" };
import { setKernelLibraryProvider, setThreadNoteReporter, setThreads, setThreadWorkerUrl } from "../engine/backend";
import { DivergenceError, UsageError, WasmgradError, didYouMean } from "../errors";
import { registerBench } from "./commands/bench";
import { registerEvaluate } from "./commands/evaluate";
import { registerExport } from "./commands/export";
import { registerGenerate } from "./commands/generate";
import { registerExplain } from "./commands/explain";
import { registerInfer } from "./commands/infer";
import { registerInfo } from "./commands/info";
import { registerInspect } from "./commands/inspect";
import { registerPredict } from "./commands/predict";
import { registerSummary } from "./commands/summary";
import { registerTrain } from "./commands/train";
import { EMBEDDED_GEMM_WORKER, embeddedKernelLibrary } from "./embedded-assets";
import { existsSync } from "node:fs";
import { numberFlag, sizeFlag } from "./options";
import { flushOut, stdoutClosed } from "./output";
import { DEFAULT_INPUT_LIMIT, formatSize, setInputLimit } from "../io/user-file";
import { embeddedOnnxRuntime } from "./embedded-runtime";
import { setNonFiniteAllowed } from "./input-policy";
import { quietNative } from "./native-stderr";
import { configureOnnxRuntime } from "../onnx/runtime";
import { DEFAULT_MAX_NODES, setOnnxNodeLimit } from "../onnx/checker";
import { displayText } from "../io/display";

const EXIT_USAGE = 2;
const EXIT_INPUT = 1;
const EXIT_DIVERGED = 3;
const EXIT_INTERNAL = 70;

// Writes that bypass writeOut (cac's help, say) report a closed pipe as an event, not a throw.
process.stdout.on?.("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") stdoutClosed();
});

setKernelLibraryProvider(embeddedKernelLibrary);
if (existsSync(EMBEDDED_GEMM_WORKER)) setThreadWorkerUrl(EMBEDDED_GEMM_WORKER);

const cli = cac("wasmgrad");
registerTrain(cli);
registerEvaluate(cli);
registerPredict(cli);
registerGenerate(cli);
registerExport(cli, packageJson.version);
registerInfer(cli);
registerInspect(cli);
registerExplain(cli);
registerSummary(cli);
registerInfo(cli, packageJson.version);
registerBench(cli);
cli.option("--threads <n>", "Threads for the GEMMs (default: the CPU count, at most 4; results are bit-identical to one thread)");
cli.option("--verbose", "Also show what the ONNX runtime and WebGPU (Dawn) print: warnings, adapter limits");
cli.option("--allow-nonfinite", "Accept NaN and ±Inf in checkpoint weights and input arrays (refused by default)");
cli.option("--max-nodes <n>", `Most nodes an ONNX graph may have (default ${DEFAULT_MAX_NODES.toLocaleString("en-US")})`);
cli.option("--max-input-size <size>", `Largest input file, or gzip data once inflated, that is read (default ${formatSize(DEFAULT_INPUT_LIMIT)}), e.g. 4GiB`);
cli.help();
cli.version(packageJson.version);

/** Longest error line: what quotes the user's input is cut there already; this is the last guard. */
const MAX_MESSAGE = 2000;

/**
 * One line, always: control characters escaped (a newline in a file name must not split it, an escape
 * sequence must not recolour the terminal) and anything past MAX_MESSAGE elided from the middle, keeping
 * the start (what failed) and the end (what to do about it).
 */
function oneLine(message: string): string {
  const escaped = displayText(message, Infinity);
  if (escaped.length <= MAX_MESSAGE) return escaped;
  const head = escaped.slice(0, MAX_MESSAGE * 0.7), tail = escaped.slice(escaped.length - MAX_MESSAGE * 0.3);
  return `${head} … (${(escaped.length - head.length - tail.length).toLocaleString("en-US")} characters left out) … ${tail}`;
}

function fail(message: string, code: number): never {
  process.stderr.write(`wasmgrad: ${oneLine(message)}\n`);
  process.exit(code);
}

/** "Unknown option `--epoch`" → " (did you mean '--epochs'?)", from the matched command's options. */
function suggestOption(message: string): string {
  const unknown = /Unknown option `(-{1,2}[^`]+)`/.exec(message)?.[1];
  if (!unknown || !cli.matchedCommand) return "";
  const known = [...cli.matchedCommand.options, ...cli.globalCommand.options].map((o) => `--${o.rawName.replace(/^--(no-)?/, "$1").split(/[ ,<[]/)[0]}`);
  const hint = didYouMean(unknown, known);
  return hint.includes("did you mean") ? hint : "";
}

try {
  cli.parse(process.argv, { run: false });
  const [first] = cli.args;
  if (!cli.matchedCommand && !cli.options.help && !cli.options.version) {
    if (first === undefined) cli.outputHelp();
    else fail(`unknown command '${displayText(first)}'${didYouMean(String(first), cli.commands.map((c) => c.name).filter(Boolean))}; see wasmgrad --help`, EXIT_USAGE);
  } else {
    const cpus = typeof navigator !== "undefined" && navigator.hardwareConcurrency > 0 ? navigator.hardwareConcurrency : 1;
    const threads = cli.options.threads === undefined ? Math.min(cpus, 4) : numberFlag(cli.options.threads, "threads", { min: 1, max: 64, integer: true });
    if (cli.options.maxInputSize !== undefined) setInputLimit(sizeFlag(cli.options.maxInputSize, "max-input-size"), "raise it with --max-input-size");
    else setInputLimit(DEFAULT_INPUT_LIMIT, "raise it with --max-input-size");
    setNonFiniteAllowed(cli.options.allowNonfinite === true);
    const verbose = cli.options.verbose === true;
    // Fewer threads than asked: said when they were asked for (or with --verbose), and always in `info`.
    setThreadNoteReporter((note) => {
      if (verbose || cli.options.threads !== undefined) process.stderr.write(`wasmgrad: note: ${note}\n`);
    });
    configureOnnxRuntime({ ...embeddedOnnxRuntime, quiet: (work) => quietNative(work, verbose), warnings: verbose });
    setOnnxNodeLimit(cli.options.maxNodes === undefined ? DEFAULT_MAX_NODES : numberFlag(cli.options.maxNodes, "max-nodes", { min: 1, max: 1e9, integer: true }), "raise it with --max-nodes");
    const why = setThreads(threads);
    if (why && cli.options.threads !== undefined) process.stderr.write(`wasmgrad: note: running on one thread: ${why}\n`);
    await cli.runMatchedCommand();
  }
  flushOut();
} catch (error) {
  // The reader of stdout went away (`| head`): nothing more can be said there, and nothing went wrong.
  if ((error as NodeJS.ErrnoException)?.code === "EPIPE") stdoutClosed();
  if (error instanceof DivergenceError) fail(error.message, EXIT_DIVERGED);
  if (error instanceof UsageError) fail(`${error.message}; see wasmgrad ${cli.matchedCommand?.name ?? ""} --help`.replace(/  +/g, " "), EXIT_USAGE);
  if (error instanceof WasmgradError) fail(error.message, EXIT_INPUT);
  if (error instanceof Error && error.name === "CACError") fail(`${error.message}${suggestOption(error.message)}; see wasmgrad ${cli.matchedCommand?.name ?? ""} --help`.replace(/  +/g, " "), EXIT_USAGE);
  // The engine's allocation failure: the input or model is too large for this machine, not a bug here.
  if (error instanceof RangeError && /out of memory/i.test(error.message)) {
    fail("out of memory: the input or the model is too large for this machine (lower --max-input-size, the batch size or the model)", EXIT_INPUT);
  }
  if (process.env.WASMGRAD_DEBUG) console.error(error);
  fail(`internal error: ${(error as Error)?.message ?? String(error)} (run with WASMGRAD_DEBUG=1 for details)`, EXIT_INTERNAL);
}
