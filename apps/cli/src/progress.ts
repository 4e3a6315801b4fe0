/*
 * A progress bar on standard error, drawn only when it is a terminal (in a pipe or a log it would
 * be noise). It redraws at most every 100 ms and erases itself when done:
 *
 *   reading py_compileall.trace.gz  [###########.............]  46%  1.3 MB of 2.8 MB
 */
import type { CliIo } from "./io.ts";

const WIDTH = 24;
const REDRAW_MS = 100;

/** A one-line progress bar that redraws itself in place. */
export class ProgressBar {
  readonly #io: CliIo;
  readonly #label: string;
  readonly #now: () => number;
  #drawnAt = -Infinity;
  #drawn = false;

  /**
   * @param io - where to draw; nothing is drawn unless `io.errIsTerminal`
   * @param label - what is in progress, shown before the bar
   * @param now - the clock, in milliseconds (tests pass their own)
   */
  constructor(io: CliIo, label: string, now: () => number = Date.now) {
    this.#io = io;
    this.#label = label;
    this.#now = now;
  }

  /** Shows `done` of `total` bytes (redrawn at most every 100 ms, and always at 100%). */
  update(done: number, total: number): void {
    if (!this.#io.errIsTerminal) return;
    const now = this.#now();
    if (done < total && now - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = now;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${"#".repeat(filled)}${".".repeat(WIDTH - filled)}`;
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    this.#io.err(`\r${this.#label}  [${bar}] ${percent}  ${megabytes(done)} of ${megabytes(total)}`);
    this.#drawn = true;
  }

  /** Erases the bar (the line is left empty for what follows). */
  finish(): void {
    if (this.#drawn) this.#io.err("\r\u001b[2K");
    this.#drawn = false;
  }
}

function megabytes(n: number): string {
  return `${(n / 1e6).toFixed(1)} MB`;
}
