// Training progress on stderr: a live bar while an epoch runs (only on a terminal, redrawn at most ten
// times a second), then one line per epoch with the metrics. Written synchronously, because the training
// loop does not yield to the event loop between batches.

import { writeSync } from "node:fs";
import type { Callback, EpochLogs } from "../model/callbacks";

const BAR_WIDTH = 28;
const REDRAW_MS = 100;

export class ProgressBar implements Callback {
  private epochs = 0;
  private batches = 0;
  private samples = 0;
  private epochStart = 0;
  private lastDraw = 0;
  private lossSum = 0;
  private seen = 0;
  private readonly live: boolean;

  constructor(private readonly fd = 2, live?: boolean) {
    this.live = live ?? (process.stderr.isTTY === true && fd === 2);
  }

  onTrainBegin(info: { epochs: number; batches: number; samples: number }): void {
    this.epochs = info.epochs;
    this.batches = info.batches;
    this.samples = info.samples;
  }

  onEpochBegin(): void {
    this.epochStart = performance.now();
    this.lossSum = 0;
    this.seen = 0;
  }

  onBatchEnd(batch: number, logs: { loss: number; size: number }): void {
    this.lossSum += logs.loss * logs.size;
    this.seen += logs.size;
    const now = performance.now();
    if (!this.live || (now - this.lastDraw < REDRAW_MS && batch + 1 < this.batches)) return;
    this.lastDraw = now;
    const done = (batch + 1) / this.batches;
    const filled = Math.round(done * BAR_WIDTH);
    const bar = "=".repeat(Math.max(filled - 1, 0)) + (filled > 0 ? ">" : "") + " ".repeat(BAR_WIDTH - filled);
    const rate = this.seen / ((now - this.epochStart) / 1000);
    this.write(`\r[${bar}] ${String(batch + 1).padStart(String(this.batches).length)}/${this.batches}  loss ${(this.lossSum / this.seen).toFixed(4)}  ${formatRate(rate)}\x1b[K`);
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    const seconds = (performance.now() - this.epochStart) / 1000;
    const metrics = Object.entries(logs).map(([k, v]) => `${k} ${v.toFixed(4)}`).join("  ");
    const rate = formatRate(this.samples / seconds);
    this.write(`${this.live ? "\r\x1b[K" : ""}epoch ${epoch + 1}/${this.epochs}  ${metrics}  ${seconds.toFixed(1)}s (${rate})\n`);
  }

  private write(text: string): void {
    writeSync(this.fd, text);
  }
}

function formatRate(samplesPerSecond: number): string {
  return `${Math.round(samplesPerSecond).toLocaleString("en-US")} samples/s`;
}
