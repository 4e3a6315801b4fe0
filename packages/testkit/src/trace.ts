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
 * and allocates nothing.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

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

/** The traces bundled with the project. */
export type BundledTrace = "gcc_cc1_wrapt" | "py_compileall";

/** The path of a bundled trace file. */
export function bundledTracePath(name: BundledTrace): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "traces", `${name}.trace.gz`);
}

/** Statistics recorded beside a bundled trace (its `.meta.json`). */
export interface TraceMeta {
  readonly events: number;
  readonly ids: number;
  readonly peak_live_bytes: number;
  readonly peak_live_blocks: number;
  readonly count: Readonly<Record<"a" | "c" | "r" | "f" | "m", number>>;
}

/** The `.meta.json` of a bundled trace. */
export function bundledTraceMeta(name: BundledTrace): TraceMeta {
  const path = bundledTracePath(name).replace(/\.trace\.gz$/, ".meta.json");
  return JSON.parse(readFileSync(path, "utf8")) as TraceMeta;
}

/** A malformed trace line. */
export class TraceFormatError extends Error {
  override readonly name = "TraceFormatError";
  /** 1-based line number. */
  readonly line: number;
  constructor(source: string, line: number, why: string) {
    super(`${source}:${line}: ${why}`);
    this.line = line;
  }
}

/**
 * Reads and parses a trace file (gzip-compressed, or plain text when it does not start with the
 * gzip magic). With `limit`, only the first `limit` events are kept.
 * @throws TraceFormatError for a malformed line; the file system's error for a missing file
 */
export function loadTrace(path: string, limit: number = Infinity): Trace {
  const raw = readFileSync(path);
  const text = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  return parseTrace(text, basename(path).replace(/\.trace(\.gz)?$/, ""), limit);
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const ZERO = 0x30;

/**
 * Parses trace text. Every `f` and `r` must name a live id and every new id must be unused, as
 * in the traces the project ships; a violation is a format error.
 * @throws TraceFormatError with the line number
 */
export function parseTrace(bytes: Uint8Array, name: string, limit: number = Infinity): Trace {
  let lines = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === NEWLINE) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== NEWLINE) lines++;
  const capacity = Math.min(lines, limit);
  const op = new Uint8Array(capacity);
  const id = new Uint32Array(capacity);
  const arg = new Uint32Array(capacity);
  const size = new Float64Array(capacity);
  let live = new Uint8Array(1024);
  let ids = 0;
  let n = 0;
  let pos = 0;
  let line = 0;
  const fail = (why: string): never => {
    throw new TraceFormatError(name, line, why);
  };
  // reads one decimal field ending at a space or the end of the line
  const field = (last: boolean): number => {
    if (pos >= bytes.length || bytes[pos]! < ZERO || bytes[pos]! > ZERO + 9) fail("expected a decimal number");
    let value = 0;
    while (pos < bytes.length) {
      const c = bytes[pos]!;
      if (c < ZERO || c > ZERO + 9) break;
      value = value * 10 + (c - ZERO);
      pos++;
    }
    if (value > 2 ** 53) fail("number too large");
    const c = bytes[pos];
    if (last) {
      if (c === RETURN) pos++;
      if (pos < bytes.length && bytes[pos] !== NEWLINE) fail("unexpected text after the last field");
      pos++;
    } else {
      if (c !== SPACE) fail("expected one space between fields");
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
    }
    if (live[value] === 1) fail(`block id ${value} is already live`);
    live[value] = 1;
    if (value >= ids) ids = value + 1;
  };
  const ended = (value: number): void => {
    if (value >= live.length || live[value] !== 1) fail(`block id ${value} is not live`);
    live[value] = 0;
  };
  while (pos < bytes.length && n < capacity) {
    line++;
    const letter = bytes[pos]!;
    if (letter === NEWLINE) fail("empty line");
    if (bytes[pos + 1] !== SPACE) fail(`expected an event letter and a space, got ${JSON.stringify(String.fromCharCode(letter))}`);
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
  }
  return { name, length: n, ids, op, id, arg, size };
}
