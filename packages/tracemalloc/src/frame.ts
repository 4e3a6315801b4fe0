import { optionError } from "./errors.ts";

/**
 * One frame of a traceback: a file and a line (CPython's `tracemalloc.Frame`). The file is a path
 * for scripts loaded from `file:` URLs and the URL (or name) otherwise; `"<unknown>"` (line 0)
 * when no JavaScript frame could be found.
 */
export class Frame {
  /** The script's path, URL or name. */
  readonly filename: string;
  /** The 1-based line number; 0 when unknown (and in statistics grouped by file). */
  readonly lineno: number;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `filename` is a string and
   *   `lineno` an integer from 0 to 2^32 - 1
   */
  constructor(filename: string, lineno: number) {
    if (typeof filename !== "string") throw optionError("Frame", "filename must be a string", filename);
    if (typeof lineno !== "number" || (lineno >>> 0) !== lineno) throw optionError("Frame", "lineno must be an integer from 0 to 2^32 - 1", lineno);
    this.filename = filename;
    this.lineno = lineno;
    Object.freeze(this);
  }

  /** CPython's `str(frame)`: `"<filename>:<lineno>"`. */
  toString(): string {
    return `${this.filename}:${this.lineno}`;
  }

  /** True when `other` is a Frame of the same file and line. Never throws. */
  equals(other: unknown): boolean {
    return other instanceof Frame && other.filename === this.filename && other.lineno === this.lineno;
  }

  /**
   * CPython's order of frames, the order of `(filename, lineno)` tuples: by file name (compared
   * by code points, as Python compares strings), then by line.
   * @returns negative, 0 or positive, as `Array.prototype.sort` wants
   */
  static compare(a: Frame, b: Frame): number {
    return compareCodePoints(a.filename, b.filename) || a.lineno - b.lineno;
  }
}

/**
 * Compares two strings by code points, as Python does (JavaScript's `<` compares UTF-16 code
 * units, which puts U+E000..U+FFFF after the surrogate pairs of higher code points).
 * @internal
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A code unit's rank in code point order: surrogates (code points above U+FFFF) sort last. */
function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}
