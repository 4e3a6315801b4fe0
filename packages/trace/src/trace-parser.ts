/*
 * Allocation traces (format: ../../../shared/traces/README.md, copied into traces/README.md):
 * gzip-compressed text, one event per line, fields separated by one space.
 *
 *   a ID SIZE             malloc(SIZE)                 -> block ID
 *   c ID NMEMB SIZE       calloc(NMEMB, SIZE)          -> block ID
 *   r OLDID NEWID SIZE    realloc(OLDID, SIZE)         -> block NEWID (OLDID is gone)
 *   f ID                  free(ID)
 *   m ID ALIGN SIZE       posix_memalign(ALIGN, SIZE)  -> block ID
 *
 * A trace is parsed once into typed arrays (one entry per event), so that a replay reads numbers
 * and allocates nothing. This module uses no Node API (the visualizer parses traces in the
 * browser); reading files is trace-file.ts's and read-trace.ts's.
 */

/** Event kinds of a parsed {@link Trace} (`op[i]`). */
export const OP_MALLOC = 0;
export const OP_CALLOC = 1;
export const OP_REALLOC = 2;
export const OP_FREE = 3;
export const OP_MEMALIGN = 4;

/** A parsed trace: event i is `op[i]` with operands `id[i]`, `arg[i]`, `size[i]`. */
export interface Trace {
  readonly name: string;
  /** Number of events. */
  readonly length: number;
  /** One more than the largest block id. */
  readonly ids: number;
  /** OP_* of each event. */
  readonly op: Uint8Array;
  /** The block the event creates (a, c, r: the new id, m) or frees (f). */
  readonly id: Uint32Array;
  /** r: the old id; c: NMEMB; m: ALIGN; otherwise 0. */
  readonly arg: Uint32Array;
  /** Requested bytes (c: the element size). */
  readonly size: Float64Array;
}

/** A malformed trace line. */
export class TraceFormatError extends Error {
  override readonly name = "TraceFormatError";
  /** 1-based line number. */
  readonly line: number;
  /** What is wrong with the line (the message without `source:line: `). */
  readonly reason: string;
  constructor(source: string, line: number, why: string) {
    super(`${source}:${line}: ${why}`);
    this.line = line;
    this.reason = why;
  }
}

/** Whether `bytes` start with the gzip magic (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The name a trace file's events go by: its base name without `.trace` / `.trace.gz` / `.gz`. */
export function traceName(path: string): string {
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  return base.replace(/(\.trace)?(\.gz)?$/, "");
}

/**
 * Parses trace text. Every `f` and `r` must name a live id and every new id must be unused, as
 * in the traces the project ships; a violation is a format error.
 * @throws TraceFormatError with the line number
 */
export function parseTrace(bytes: Uint8Array, name: string, limit: number = Infinity): Trace {
  const parser = new TraceParser(name, limit);
  parser.push(bytes);
  return parser.end();
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const ZERO = 0x30;
const FIRST_CAPACITY = 1 << 16;

/**
 * A trace parser that takes its text in chunks, as they come out of a file or a gunzip stream:
 * complete lines are parsed as soon as they arrive (into typed arrays that double as they fill),
 * a line cut by the end of a chunk waits for the rest. {@link parseTrace} is `push` once, `end`.
 *
 * ```
 *   chunk k:   ...a 17 32\nf 9\nc 18 4 |        (the tail "c 18 4 " is carried)
 *   chunk k+1: 8\nr 17 19 100\n...              ("c 18 4 " + "8\n" is parsed first)
 * ```
 */
export class TraceParser {
  readonly name: string;
  readonly #limit: number;
  #op = new Uint8Array(FIRST_CAPACITY);
  #id = new Uint32Array(FIRST_CAPACITY);
  #arg = new Uint32Array(FIRST_CAPACITY);
  #size = new Float64Array(FIRST_CAPACITY);
  /** 1 for each live block id. */
  #live = new Uint8Array(1024);
  #events = 0;
  #ids = 0;
  #line = 0;
  /** The start of a line whose end has not arrived yet. */
  #carry: Uint8Array | null = null;
  #ended = false;

  /**
   * @param name - what error messages call the trace (`name:line: why`)
   * @param limit - keep only the first `limit` events; the rest of the text is not looked at
   */
  constructor(name: string, limit: number = Infinity) {
    if (!(limit >= 0)) throw new RangeError(`limit must be a non-negative number, got ${limit}`);
    this.name = name;
    this.#limit = limit;
  }

  /** Events parsed so far. */
  get events(): number {
    return this.#events;
  }

  /** Lines parsed so far. */
  get lines(): number {
    return this.#line;
  }

  /** True once `limit` events are parsed: later chunks are ignored. */
  get full(): boolean {
    return this.#events >= this.#limit;
  }

  /**
   * Parses every complete line of `chunk` (with the carried start of the line before it).
   * @throws TraceFormatError at the first malformed line; the parser is then unusable
   */
  push(chunk: Uint8Array): void {
    if (this.#ended) throw new Error("TraceParser: push() after end()");
    if (this.full || chunk.length === 0) return;
    let start = 0;
    const carry = this.#carry;
    if (carry !== null) {
      const newline = chunk.indexOf(NEWLINE);
      if (newline < 0) {
        this.#carry = concat(carry, chunk, chunk.length);
        return;
      }
      this.#carry = null;
      const line = concat(carry, chunk, newline + 1);
      this.#parse(line, 0, line.length);
      start = newline + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= start) {
      this.#parse(chunk, start, last + 1);
      start = last + 1;
    }
    if (start < chunk.length && !this.full) this.#carry = chunk.slice(start);
  }

  /**
   * Parses the last line (which needs no newline) and returns the trace, its arrays trimmed to
   * the events.
   * @throws TraceFormatError when the last line is malformed
   */
  end(): Trace {
    if (this.#ended) throw new Error("TraceParser: end() called twice");
    const carry = this.#carry;
    if (carry !== null && !this.full) this.#parse(carry, 0, carry.length);
    this.#carry = null;
    this.#ended = true;
    const n = this.#events;
    return {
      name: this.name,
      length: n,
      ids: this.#ids,
      op: this.#op.slice(0, n),
      id: this.#id.slice(0, n),
      arg: this.#arg.slice(0, n),
      size: this.#size.slice(0, n),
    };
  }

  #grow(): void {
    const capacity = this.#op.length * 2;
    const op = new Uint8Array(capacity);
    const id = new Uint32Array(capacity);
    const arg = new Uint32Array(capacity);
    const size = new Float64Array(capacity);
    op.set(this.#op);
    id.set(this.#id);
    arg.set(this.#arg);
    size.set(this.#size);
    this.#op = op;
    this.#id = id;
    this.#arg = arg;
    this.#size = size;
  }

  /** Parses the lines in bytes[pos, end); each ends with a newline except possibly the last. */
  #parse(bytes: Uint8Array, pos: number, end: number): void {
    const limit = this.#limit;
    let n = this.#events;
    let line = this.#line;
    let live = this.#live;
    let ids = this.#ids;
    let op = this.#op;
    let id = this.#id;
    let arg = this.#arg;
    let size = this.#size;
    const fail = (why: string): never => {
      throw new TraceFormatError(this.name, line, why);
    };
    // reads one decimal field ending at a space or the end of the line
    const field = (last: boolean): number => {
      if (pos >= end || bytes[pos]! < ZERO || bytes[pos]! > ZERO + 9) fail("expected a decimal number");
      let value = 0;
      while (pos < end) {
        const c = bytes[pos]!;
        if (c < ZERO || c > ZERO + 9) break;
        value = value * 10 + (c - ZERO);
        pos++;
      }
      if (value > 2 ** 53) fail("number too large");
      const c = bytes[pos];
      if (last) {
        if (c === RETURN && pos < end) pos++;
        if (pos < end && bytes[pos] !== NEWLINE) fail("unexpected text after the last field");
        pos++;
      } else {
        if (pos >= end || c !== SPACE) fail("expected one space between fields");
        pos++;
      }
      return value;
    };
    const word = (value: number): number => (value < 2 ** 32 ? value : fail("number does not fit in 32 bits"));
    const created = (value: number): void => {
      if (value >= 2 ** 32) fail("block id too large");
      if (value >= live.length) {
        const grown = new Uint8Array(Math.max(value + 1, live.length * 2));
        grown.set(live);
        live = grown;
        this.#live = live;
      }
      if (live[value] === 1) fail(`block id ${value} is already live`);
      live[value] = 1;
      if (value >= ids) ids = value + 1;
    };
    const ended = (value: number): void => {
      if (value >= live.length || live[value] !== 1) fail(`block id ${value} is not live`);
      live[value] = 0;
    };
    while (pos < end && n < limit) {
      line++;
      if (n === op.length) {
        this.#grow();
        op = this.#op;
        id = this.#id;
        arg = this.#arg;
        size = this.#size;
      }
      const letter = bytes[pos]!;
      if (letter === NEWLINE || (letter === RETURN && bytes[pos + 1] === NEWLINE)) fail("empty line");
      if (pos + 1 >= end || bytes[pos + 1] !== SPACE) fail(`expected an event letter and a space, got ${JSON.stringify(String.fromCharCode(letter))}`);
      pos += 2;
      switch (letter) {
        case 0x61: // a ID SIZE
          op[n] = OP_MALLOC;
          id[n] = field(false);
          size[n] = field(true);
          created(id[n]!);
          break;
        case 0x63: // c ID NMEMB SIZE
          op[n] = OP_CALLOC;
          id[n] = field(false);
          arg[n] = word(field(false));
          size[n] = field(true);
          created(id[n]!);
          break;
        case 0x72: {
          // r OLDID NEWID SIZE
          op[n] = OP_REALLOC;
          const old = field(false);
          arg[n] = old;
          id[n] = field(false);
          size[n] = field(true);
          ended(old);
          created(id[n]!);
          break;
        }
        case 0x66: // f ID
          op[n] = OP_FREE;
          id[n] = field(true);
          ended(id[n]!);
          break;
        case 0x6d: // m ID ALIGN SIZE
          op[n] = OP_MEMALIGN;
          id[n] = field(false);
          arg[n] = word(field(false));
          size[n] = field(true);
          created(id[n]!);
          break;
        default:
          fail(`unknown event ${JSON.stringify(String.fromCharCode(letter))}`);
      }
      n++;
      // keep the counts current, so that a failure in a later line leaves them true
      this.#events = n;
      this.#line = line;
      this.#ids = ids;
    }
    this.#events = n;
    this.#line = line;
    this.#ids = ids;
  }
}

/** `a` followed by the first `n` bytes of `b`, in a new array. */
function concat(a: Uint8Array, b: Uint8Array, n: number): Uint8Array {
  const joined = new Uint8Array(a.length + n);
  joined.set(a);
  joined.set(b.subarray(0, n), a.length);
  return joined;
}
