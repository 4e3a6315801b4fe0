/*
 * Writing the text format: one line per event, as the parser reads it back. Lines are gathered
 * into chunks of about 64 KiB before they are handed on, so that writing a long trace costs one
 * output call per chunk, not per line. Every event is checked against the format's rules first:
 * a writer never writes a trace the parser would refuse.
 */
import { argumentError, TraceError, TraceErrorCode } from "./errors.ts";
import { applyEvent, eventProblem, LiveIds } from "./event-rules.ts";
import type { TraceSink } from "./trace-sink.ts";
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC } from "./trace.ts";

/** Characters gathered before they are handed to the output. */
const CHUNK_CHARS = 64 << 10;

/**
 * Writes events as trace text to `output`, in chunks of whole lines.
 *
 * ```ts
 * let text = "";
 * const writer = new TraceWriter((chunk) => (text += chunk));
 * writer.comment("two blocks");
 * writer.malloc(0, 100);
 * writer.realloc(0, 1, 200);
 * writer.free(1);
 * writer.end(); // text is "# two blocks\na 0 100\nr 0 1 200\nf 1\n"
 * ```
 */
export class TraceWriter implements TraceSink {
  readonly #output: (text: string) => void;
  readonly #live = new LiveIds();
  #buffer = "";
  #events = 0;
  #ended = false;

  /**
   * @param output - receives the text, a chunk of whole lines at a time (and the rest at
   *   {@link TraceWriter.end} or {@link TraceWriter.flush})
   * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless `output` is a function
   */
  constructor(output: (text: string) => void) {
    if (typeof output !== "function") throw argumentError("TraceWriter", "output must be a function that takes the text");
    this.#output = output;
  }

  /** Events written so far. */
  get events(): number {
    return this.#events;
  }

  /** True when block `id` is live after the events written so far. Never throws. */
  isLive(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && this.#live.isLive(id);
  }

  /** Writes `a ID SIZE`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when ID is live or a number is out of range */
  malloc(id: number, size: number): void {
    this.#event(OP_MALLOC, id, 0, size, `a ${id} ${size}\n`);
  }

  /** Writes `c ID NMEMB SIZE`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` as {@link TraceWriter.malloc} */
  calloc(id: number, nmemb: number, size: number): void {
    this.#event(OP_CALLOC, id, nmemb, size, `c ${id} ${nmemb} ${size}\n`);
  }

  /** Writes `r OLDID NEWID SIZE`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when OLDID is not live, NEWID is, or a number is out of range */
  realloc(oldId: number, newId: number, size: number): void {
    this.#event(OP_REALLOC, newId, oldId, size, `r ${oldId} ${newId} ${size}\n`);
  }

  /** Writes `f ID`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` when ID is not live */
  free(id: number): void {
    this.#event(OP_FREE, id, 0, 0, `f ${id}\n`);
  }

  /** Writes `m ID ALIGN SIZE`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_EVENT` as {@link TraceWriter.malloc}, or when ALIGN is not a power of two */
  memalign(id: number, alignment: number, size: number): void {
    this.#event(OP_MEMALIGN, id, alignment, size, `m ${id} ${alignment} ${size}\n`);
  }

  /**
   * Writes `text` as comment lines, one `# ` line per line of it (an empty text: one `#`).
   * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless `text` is a string;
   *   `ERR_TSMALLOC_TRACE_STATE` after {@link TraceWriter.end}
   */
  comment(text: string): void {
    if (typeof text !== "string") throw argumentError("TraceWriter.comment", `text must be a string, got ${typeof text}`);
    this.#open();
    for (const line of text.split(/\r?\n/)) this.#append(line === "" ? "#\n" : `# ${line}\n`);
  }

  /** Hands what is gathered to the output now. @throws whatever the output throws */
  flush(): void {
    if (this.#buffer === "") return;
    const text = this.#buffer;
    this.#buffer = "";
    this.#output(text);
  }

  /**
   * Hands the rest to the output; the writer takes no more events. Calling it again does nothing.
   * @returns the number of events written
   */
  end(): number {
    if (!this.#ended) {
      this.#ended = true;
      this.flush();
    }
    return this.#events;
  }

  #event(op: number, id: number, arg: number, size: number, line: string): void {
    this.#open();
    const problem = eventProblem(this.#live, op, id, arg, size);
    if (problem !== null) throw new TraceError(TraceErrorCode.InvalidEvent, `TraceWriter, event ${this.#events + 1}: ${problem}`);
    applyEvent(this.#live, op, id, arg);
    this.#events++;
    this.#append(line);
  }

  #append(line: string): void {
    this.#buffer += line;
    if (this.#buffer.length >= CHUNK_CHARS) this.flush();
  }

  #open(): void {
    if (this.#ended) throw new TraceError(TraceErrorCode.State, "TraceWriter: an event after end()");
  }
}
