import { isDomainNumber, optionError, requireBoolean } from "./errors.ts";
import { FnmatchPattern } from "./fnmatch.ts";
import type { Trace } from "./trace.ts";

/**
 * Keeps or drops traces by file name pattern, line and domain, for `Snapshot.filterTraces`
 * (CPython's `tracemalloc.Filter`).
 *
 * - `filenamePattern` is an `fnmatch` pattern (`*`, `?`, `[seq]`, `[!seq]`), matched against the
 *   whole file name, case-sensitively.
 * - Without `allFrames`, only the most recent frame (the line that called the allocator) is
 *   looked at; with it, any frame of the traceback matches.
 * - `lineno` null matches every line.
 * - `domain` null matches every trace domain.
 *
 * An inclusive filter keeps the traces it matches; an exclusive one drops them. Among several
 * filters, a trace is kept when it matches at least one inclusive filter (if there are any) and
 * none of the exclusive ones.
 */
export class Filter {
  /** Keep the matching traces (true) or drop them (false). */
  readonly inclusive: boolean;
  /** The fnmatch pattern file names are matched against. */
  readonly filenamePattern: string;
  /** The line to match, or null for any line. */
  readonly lineno: number | null;
  /** Match any frame of a traceback (true) or only its most recent one (false). */
  readonly allFrames: boolean;
  /** The trace domain to match, or null for any. */
  readonly domain: number | null;
  readonly #pattern: FnmatchPattern;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `inclusive` and
   *   `allFrames` are booleans, `filenamePattern` a string, `lineno` null, undefined or an integer
   *   from 0 to 2^32 - 1, and `domain` null, undefined or an integer from 0 to 2^32 - 1
   */
  constructor(inclusive: boolean, filenamePattern: string, lineno: number | null = null, allFrames: boolean = false, domain: number | null = null) {
    this.inclusive = requireBoolean(inclusive, "Filter", "inclusive");
    if (typeof filenamePattern !== "string") throw optionError("Filter", "filenamePattern must be a string", filenamePattern);
    if (lineno !== null && (typeof lineno !== "number" || (lineno >>> 0) !== lineno)) throw optionError("Filter", "lineno must be null or an integer from 0 to 2^32 - 1", lineno);
    this.allFrames = requireBoolean(allFrames, "Filter", "allFrames");
    if (domain !== null && !isDomainNumber(domain)) throw optionError("Filter", "domain must be null or an integer from 0 to 2^32 - 1", domain);
    this.filenamePattern = filenamePattern;
    this.lineno = lineno;
    this.domain = domain;
    this.#pattern = new FnmatchPattern(filenamePattern);
    Object.freeze(this);
  }

  /**
   * True when the filter lets `trace` through: for an inclusive filter, when the trace matches;
   * for an exclusive one, when it does not. Never throws for a Trace.
   */
  matches(trace: Trace): boolean {
    const frames = trace.traceback.frames;
    let result: boolean;
    if (this.allFrames) {
      let any = false;
      for (const frame of frames) {
        if (this.#matchesFrame(frame.filename, frame.lineno)) {
          any = true;
          break;
        }
      }
      result = any === this.inclusive;
    } else {
      const recent = frames[frames.length - 1]!;
      result = this.#matchesFrame(recent.filename, recent.lineno) === this.inclusive;
    }
    if (this.domain === null) return result;
    return this.inclusive ? result && trace.domain === this.domain : result || trace.domain !== this.domain;
  }

  #matchesFrame(filename: string, lineno: number): boolean {
    return this.#pattern.matches(filename) && (this.lineno === null || this.lineno === lineno);
  }
}

/**
 * Keeps or drops traces by trace domain alone, for `Snapshot.filterTraces` (CPython's
 * `tracemalloc.DomainFilter`).
 */
export class DomainFilter {
  /** Keep the traces of the domain (true) or drop them (false). */
  readonly inclusive: boolean;
  /** The trace domain. */
  readonly domain: number;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `inclusive` is a boolean
   *   and `domain` an integer from 0 to 2^32 - 1
   */
  constructor(inclusive: boolean, domain: number) {
    this.inclusive = requireBoolean(inclusive, "DomainFilter", "inclusive");
    if (!isDomainNumber(domain)) throw optionError("DomainFilter", "domain must be an integer from 0 to 2^32 - 1", domain);
    this.domain = domain;
    Object.freeze(this);
  }

  /** True when the filter lets `trace` through. Never throws for a Trace. */
  matches(trace: Trace): boolean {
    return (trace.domain === this.domain) === this.inclusive;
  }
}
