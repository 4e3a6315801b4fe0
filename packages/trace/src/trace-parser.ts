/*
 * Reading the text format (README.md, "The format"): one event per line, fields separated by one
 * space, numbers in decimal; empty lines and `#` comments are not events.
 *
 *   a ID SIZE             malloc(SIZE)                 -> block ID
 *   c ID NMEMB SIZE       calloc(NMEMB, SIZE)          -> block ID
 *   r OLDID NEWID SIZE    realloc(OLDID, SIZE)         -> block NEWID (OLDID is gone)
 *   f ID                  free(ID)
 *   m ID ALIGN SIZE       posix_memalign(ALIGN, SIZE)  -> block ID
 *
 * The parser takes text in chunks, as they come out of a file or a gunzip stream, and parses
 * each complete line as soon as it arrives; a line cut by the end of a chunk waits for the rest:
 *
 *   chunk k:   ...a 17 32\nf 9\nc 18 4 |        (the tail "c 18 4 " is carried)
 *   chunk k+1: 8\nr 17 19 100\n...              ("c 18 4 " + "8\n" is parsed first)
 *
 * A line is read by a fast path that accepts only a well-formed event, in one pass over its bytes;
 * anything else goes to a slower one, which skips comments and empty lines, and refuses the rest
 * with line-diagnosis.ts's words for what is wrong. This module uses no Node API (the visualizer
 * parses traces in the browser); reading files is read-trace.ts's and load-trace.ts's.
 */
import { argumentError, TraceError, TraceErrorCode, TraceFormatError } from "./errors.ts";
import { formProblem, quoteLine } from "./line-diagnosis.ts";
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";
import { TraceBuilder } from "./trace-builder.ts";

const SPACE = 0x20;
const TAB = 0x09;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const HASH = 0x23;
const ZERO = 0x30;
const NINE = 0x39;
/** Bytes of an event line at most ("c 4294967295 4294967295 9007199254740992" is 40): a longer one is refused before its end comes. */
const MAX_EVENT_LINE = 256;

/**
 * Parses trace text (a whole file's bytes, gunzipped). Every `f` and `r` must name a live id and
 * every new id must not be live, as in the traces the project ships.
 * @param name - what error messages call the trace (`name:line: why`) and the trace's name
 * @param limit - keep only the first `limit` events
 * @throws TraceFormatError at the first line that is not a valid event, naming the field and
 *   quoting the line; TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` for a bad `limit`
 */
export function parseTrace(bytes: Uint8Array, name: string, limit: number = Infinity): Trace {
  const parser = new TraceParser(name, limit);
  parser.push(bytes);
  return parser.end();
}

/**
 * A trace parser that takes its text in chunks (see the module comment). {@link parseTrace} is
 * `push` once, then `end`.
 */
export class TraceParser {
  /** What error messages call the trace, and the trace's name. */
  readonly name: string;
  readonly #limit: number;
  readonly #builder: TraceBuilder;
  /** Lines parsed, events among them, and where they part: see Trace.lineShifts. */
  #line = 0;
  #skipped = 0;
  #shiftedAt = 0;
  readonly #shifts: number[] = [];
  /** The start of a line whose end has not arrived yet (null: none, or a comment's, which is not kept). */
  #carry: Uint8Array | null = null;
  #inComment = false;
  #ended = false;

  /**
   * @param name - what error messages call the trace (`name:line: why`)
   * @param limit - keep only the first `limit` events; the rest of the text is not looked at
   * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `limit` is negative or NaN
   */
  constructor(name: string, limit: number = Infinity) {
    if (!(limit >= 0)) throw argumentError("TraceParser", `limit must be a non-negative number, got ${String(limit)}`);
    this.name = name;
    this.#limit = limit;
    this.#builder = new TraceBuilder(name);
  }

  /** Events parsed so far. */
  get events(): number {
    return this.#builder.events;
  }

  /** Complete lines parsed so far (events, comments and empty lines). */
  get lines(): number {
    return this.#line;
  }

  /** True once `limit` events are parsed: later chunks are ignored. */
  get full(): boolean {
    return this.#builder.events >= this.#limit;
  }

  /**
   * Parses every complete line of `chunk` (with the carried start of the line before it). The
   * chunk is not kept: its buffer may be reused once this returns.
   * @throws TraceFormatError at the first line that is not a valid event (the parser is then
   *   unusable); TraceError `ERR_TSMALLOC_TRACE_STATE` after {@link TraceParser.end}
   */
  push(chunk: Uint8Array): void {
    if (this.#ended) throw new TraceError(TraceErrorCode.State, "TraceParser: push() after end()");
    if (this.full || chunk.length === 0) return;
    let start = 0;
    if (this.#inComment || this.#carry !== null) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) {
        this.#extendCarry(chunk, chunk.length);
        return;
      }
      this.#extendCarry(chunk, newline + 1);
      this.#finishCarriedLine();
      start = newline + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= start) {
      this.#parse(chunk, start, last + 1);
      start = last + 1;
    }
    if (start < chunk.length && !this.full) this.#startCarry(chunk.subarray(start));
  }

  /**
   * Parses the last line (which needs no newline) and returns the trace, its arrays trimmed to
   * the events.
   * @throws TraceFormatError when the last line is not a valid event; TraceError
   *   `ERR_TSMALLOC_TRACE_STATE` when called twice
   */
  end(): Trace {
    if (this.#ended) throw new TraceError(TraceErrorCode.State, "TraceParser: end() called twice");
    if ((this.#carry !== null || this.#inComment) && !this.full) this.#finishCarriedLine();
    this.#carry = null;
    this.#inComment = false;
    this.#ended = true;
    return this.#builder.finish(new Float64Array(this.#shifts));
  }

  /** Keeps the start of a line that goes on in the next chunk (a comment's bytes are not kept). */
  #startCarry(tail: Uint8Array): void {
    if (tail[0] === HASH) {
      this.#inComment = true;
      return;
    }
    this.#carry = tail.slice();
    if (this.#carry.length > MAX_EVENT_LINE) this.#refuseLongLine(this.#carry);
  }

  /** Adds the first `n` bytes of `chunk` to the carried line. */
  #extendCarry(chunk: Uint8Array, n: number): void {
    if (this.#inComment) return;
    const carry = this.#carry!;
    const joined = new Uint8Array(carry.length + n);
    joined.set(carry);
    joined.set(chunk.subarray(0, n), carry.length);
    this.#carry = joined;
    if (joined.length > MAX_EVENT_LINE + 2) this.#refuseLongLine(joined);
  }

  /** Parses the carried line, now complete (with its newline, or the last line of the text). */
  #finishCarriedLine(): void {
    if (this.#inComment) {
      this.#inComment = false;
      this.#line++;
      this.#skipped++;
      return;
    }
    const line = this.#carry!;
    this.#carry = null;
    this.#parse(line, 0, line.length);
  }

  /** An event line longer than any valid one, refused before its end arrives. */
  #refuseLongLine(bytes: Uint8Array): never {
    const text = new TextDecoder().decode(bytes.subarray(0, MAX_EVENT_LINE));
    throw new TraceFormatError(this.name, this.#line + 1, `${quoteLine(text)}: a line of over ${MAX_EVENT_LINE} bytes that is not a comment (no event is that long)`);
  }

  /** Parses the lines in bytes[pos, end); each ends with a newline, except possibly the last. */
  #parse(bytes: Uint8Array, pos: number, end: number): void {
    const builder = this.#builder;
    const limit = this.#limit;
    while (pos < end && builder.events < limit) {
      const next = this.#event(bytes, pos, end);
      pos = next >= 0 ? next : this.#otherLine(bytes, pos, end);
    }
  }

  /**
   * The fast path: parses the event line at `pos` and adds it, with one pass over its bytes.
   * @returns the position after the line's end, or -1 when the line is not one event with
   *   single spaces and decimal numbers (a comment, an empty line, or a bad one: #otherLine's)
   * @throws TraceFormatError when the line is well formed but breaks the rules on ids and sizes
   */
  #event(bytes: Uint8Array, pos: number, end: number): number {
    let op: number;
    let fields: number;
    switch (bytes[pos]) {
      case 0x61: // a ID SIZE
        op = OP_MALLOC;
        fields = 2;
        break;
      case 0x63: // c ID NMEMB SIZE
        op = OP_CALLOC;
        fields = 3;
        break;
      case 0x72: // r OLDID NEWID SIZE
        op = OP_REALLOC;
        fields = 3;
        break;
      case 0x66: // f ID
        op = OP_FREE;
        fields = 1;
        break;
      case 0x6d: // m ID ALIGN SIZE
        op = OP_MEMALIGN;
        fields = 3;
        break;
      default:
        return -1;
    }
    // the fields, each a space then digits
    let first = 0;
    let second = 0;
    let third = 0;
    let at = pos + 1;
    for (let k = 0; k < fields; k++) {
      if (at >= end || bytes[at] !== SPACE) return -1;
      const digits = at + 1;
      at = digitsEnd(bytes, digits, end);
      if (at === digits) return -1;
      const value = decimal(bytes, digits, at);
      // (2^53 + 1 rounds to 2^53 in a double: the largest value is checked as text)
      if (value > 2 ** 53 || (value === 2 ** 53 && lineText(bytes, digits, at).replace(/^0+/, "") !== "9007199254740992")) return -1;
      if (k === 0) first = value;
      else if (k === 1) second = value;
      else third = value;
    }
    // then the line's end: "\n", "\r\n", or the end of the text (where a lone "\r" may end it)
    const textEnd = at;
    if (at < end && bytes[at] === RETURN) at++;
    if (at < end && bytes[at] !== NEWLINE) return -1;
    const builder = this.#builder;
    if (this.#skipped !== this.#shiftedAt) {
      this.#shifts.push(builder.events, this.#skipped);
      this.#shiftedAt = this.#skipped;
    }
    // operands as Trace keeps them: the created (or freed) id, the second operand, the size
    let problem: string | null;
    if (op === OP_MALLOC) problem = builder.append(op, first, 0, second);
    else if (op === OP_FREE) problem = builder.append(op, first, 0, 0);
    else if (op === OP_REALLOC) problem = builder.append(op, second, first, third);
    else problem = builder.append(op, first, second, third);
    if (problem !== null) throw new TraceFormatError(this.name, this.#line + 1, `${quoteLine(lineText(bytes, pos, textEnd))}: ${problem}`);
    // (counted once the event is in: a bad line leaves `lines` at the last good one)
    this.#line++;
    return at + 1;
  }

  /**
   * A line the fast path did not take: an empty line, spaces and tabs only, or a comment, which
   * are skipped; anything else is refused, with what is wrong with it.
   * @returns the position after the line's end
   * @throws TraceFormatError for a line that is not an event
   */
  #otherLine(bytes: Uint8Array, pos: number, end: number): number {
    const newline = bytes.indexOf(NEWLINE, pos);
    const lineEnd = newline < 0 || newline >= end ? end : newline;
    const textEnd = lineEnd > pos && bytes[lineEnd - 1] === RETURN ? lineEnd - 1 : lineEnd;
    if (bytes[pos] !== HASH && !isBlank(bytes, pos, textEnd)) {
      const text = lineText(bytes, pos, textEnd);
      throw new TraceFormatError(this.name, this.#line + 1, formProblem(text) ?? `${quoteLine(text)}: not an event`);
    }
    this.#skipped++;
    this.#line++;
    return lineEnd + 1;
  }
}

/** True when bytes[pos, end) are all spaces and tabs. */
function isBlank(bytes: Uint8Array, pos: number, end: number): boolean {
  for (let i = pos; i < end; i++) if (bytes[i] !== SPACE && bytes[i] !== TAB) return false;
  return true;
}

/** The index of the first byte at or after `pos` (before `end`) that is not a decimal digit. */
function digitsEnd(bytes: Uint8Array, pos: number, end: number): number {
  while (pos < end && bytes[pos]! >= ZERO && bytes[pos]! <= NINE) pos++;
  return pos;
}

/** The value of the decimal digits bytes[pos, end): exact up to 2^53, at least 2^53 beyond. */
function decimal(bytes: Uint8Array, pos: number, end: number): number {
  let value = 0;
  for (let i = pos; i < end; i++) value = value * 10 + (bytes[i]! - ZERO);
  return value;
}

function lineText(bytes: Uint8Array, pos: number, end: number): string {
  return new TextDecoder().decode(bytes.subarray(pos, end));
}
