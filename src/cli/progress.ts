/**
 * The per-epoch progress bar: `epoch 3/20 [######------] 23/45  412 steps/s
 * loss 0.1234`, redrawn in place on a terminal; otherwise (logs) printed at
 * each quarter of an epoch.
 */
export interface ProgressSink {
  readonly isTTY: boolean;
  write(s: string): void;
}

export function progressLine(epoch: number, epochs: number, step: number, steps: number, ms: number, loss: number, width = 24): string {
  const filled = Math.round((step / steps) * width);
  const rate = ms > 0 ? (step / ms) * 1000 : 0;
  const w = String(epochs).length;
  return (
    `epoch ${String(epoch).padStart(w)}/${epochs} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
    `${String(step).padStart(String(steps).length)}/${steps}  ${rate.toFixed(0).padStart(5)} steps/s  loss ${loss.toFixed(4)}`
  );
}

export class ProgressBar {
  private last = 0;
  constructor(private readonly sink: ProgressSink) {}

  update(epoch: number, epochs: number, step: number, steps: number, ms: number, loss: number): void {
    if (!this.sink.isTTY) {
      const q = Math.floor((4 * step) / steps);
      if (step < steps && q > Math.floor((4 * (step - 1)) / steps))
        this.sink.write(`${progressLine(epoch, epochs, step, steps, ms, loss)}\n`);
      return;
    }
    const now = Date.now();
    if (step < steps && now - this.last < 80) return;
    this.last = now;
    this.sink.write(`\r${progressLine(epoch, epochs, step, steps, ms, loss)}\x1b[K`);
  }

  /** Finish the epoch's bar and print its summary. */
  done(line: string, summary: string): void {
    this.sink.write(this.sink.isTTY ? `\r${line}\x1b[K\n${summary}\n` : `${line}\n${summary}\n`);
  }
}
