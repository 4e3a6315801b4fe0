import { optionError } from "./errors.ts";
import { Frame } from "./frame.ts";
import { builtinModule, type FileSystem } from "./host.ts";

/**
 * Where a block was allocated: a sequence of {@link Frame}s (CPython's `tracemalloc.Traceback`),
 * **oldest first**, as CPython's Python API orders them: `at(0)` is the outermost call captured,
 * `at(-1)` the line that called `memMalloc`/`objMalloc`/…. Holds at least one frame.
 */
export class Traceback implements Iterable<Frame> {
  /** The frames, oldest first. */
  readonly frames: readonly Frame[];
  #key: string | undefined;

  /**
   * @param frames the frames, oldest first (the order of {@link Traceback.frames}); copied
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `frames` is an iterable of
   *   at least one {@link Frame}
   */
  constructor(frames: Iterable<Frame>) {
    if (typeof frames !== "object" || frames === null || typeof (frames as Partial<Iterable<Frame>>)[Symbol.iterator] !== "function") {
      throw optionError("Traceback", "frames must be an iterable of Frame", frames);
    }
    const list = Object.freeze([...frames]);
    if (list.length === 0) throw optionError("Traceback", "a traceback has at least one frame", list.length);
    for (const frame of list) if (!(frame instanceof Frame)) throw optionError("Traceback", "frames must be Frame objects", frame);
    this.frames = list;
    Object.freeze(this);
  }

  /** The number of frames. */
  get length(): number {
    return this.frames.length;
  }

  /** The frame at `index` (negative counts from the most recent end, as `Array#at`), or undefined. */
  at(index: number): Frame | undefined {
    return this.frames.at(index);
  }

  /** The frames, oldest first. */
  [Symbol.iterator](): Iterator<Frame> {
    return this.frames[Symbol.iterator]();
  }

  /** CPython's `str(traceback)`: its first frame, the oldest (`"<filename>:<lineno>"`). */
  toString(): string {
    return this.frames[0]!.toString();
  }

  /**
   * The traceback as CPython's `Traceback.format()` writes it: `  File "<filename>", line <n>`
   * per frame, each followed by `    <source line>` when the file can be read (Node) and the line
   * is not blank. Oldest first, unless `mostRecentFirst`.
   *
   * @param limit when positive, only the `limit` most recent frames; when 0 or negative, as in
   *   CPython, the frames before the `-limit` most recent ones (`-1`: all but the most recent);
   *   null or undefined: all
   * @returns the lines, without line breaks
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `limit` is not an integer,
   *   null or undefined, or `mostRecentFirst` not a boolean
   */
  format(limit?: number | null, mostRecentFirst: boolean = false): string[] {
    if (limit !== undefined && limit !== null && !Number.isInteger(limit)) throw optionError("Traceback.format", "limit must be an integer, null or undefined", limit);
    if (typeof mostRecentFirst !== "boolean") throw optionError("Traceback.format", "mostRecentFirst must be a boolean", mostRecentFirst);
    let frames = this.frames;
    if (limit !== undefined && limit !== null) frames = limit > 0 ? frames.slice(-limit) : frames.slice(0, limit);
    if (mostRecentFirst) frames = [...frames].reverse();
    const sources = new SourceLines();
    const lines: string[] = [];
    for (const frame of frames) {
      lines.push(`  File "${frame.filename}", line ${frame.lineno}`);
      const source = sources.line(frame.filename, frame.lineno);
      if (source !== "") lines.push(`    ${source}`);
    }
    return lines;
  }

  /** True when `other` is a Traceback of the same frames. Never throws. */
  equals(other: unknown): boolean {
    return other instanceof Traceback && Traceback.key(other) === Traceback.key(this);
  }

  /**
   * CPython's order of tracebacks, the order of their frame tuples (oldest first), frame by
   * frame with {@link Frame.compare}; a traceback that is a prefix of another sorts first.
   */
  static compare(a: Traceback, b: Traceback): number {
    const x = a.frames;
    const y = b.frames;
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++) {
      const order = Frame.compare(x[i]!, y[i]!);
      if (order !== 0) return order;
    }
    return x.length - y.length;
  }

  /** A string that is equal for equal tracebacks (statistics group by it). @internal */
  static key(traceback: Traceback): string {
    let key = traceback.#key;
    if (key === undefined) {
      key = "";
      for (const frame of traceback.frames) key += `${frame.filename}\u0000${frame.lineno}\u0000`;
      traceback.#key = key;
    }
    return key;
  }
}

/** The source lines of files, read once per file (CPython's `linecache`), for one format call. */
class SourceLines {
  readonly #files = new Map<string, readonly string[] | null>();
  readonly #fs = builtinModule<FileSystem>("node:fs");

  /** Line `lineno` of `filename`, stripped; "" when the file or the line cannot be read. */
  line(filename: string, lineno: number): string {
    let lines = this.#files.get(filename);
    if (lines === undefined) {
      lines = this.#read(filename);
      this.#files.set(filename, lines);
    }
    return lines?.[lineno - 1]?.trim() ?? "";
  }

  #read(filename: string): readonly string[] | null {
    // only paths: "<unknown>", node:internal/... and http(s) URLs are not files
    if (this.#fs === undefined || filename.startsWith("<") || /^[A-Za-z][A-Za-z0-9+.-]+:(?![\\/])/.test(filename) || filename.includes("://")) return null;
    try {
      return this.#fs.readFileSync(filename, "utf8").split(/\r\n|\r|\n/);
    } catch {
      return null;
    }
  }
}
