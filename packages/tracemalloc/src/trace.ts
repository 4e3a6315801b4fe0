import { isDomainNumber, optionError } from "./errors.ts";
import { formatSize } from "./format-size.ts";
import { Traceback } from "./traceback.ts";

/** The domain of blocks of the RAW, MEM and OBJ allocator domains (CPython's `DEFAULT_DOMAIN`). */
export const DEFAULT_DOMAIN = 0;

/**
 * One traced memory block (CPython's `tracemalloc.Trace`): its trace domain, its size as it was
 * requested, and where it was allocated.
 */
export class Trace {
  /**
   * The trace domain, CPython's address-space number: {@link DEFAULT_DOMAIN} (0) for every block
   * of the runtime's RAW, MEM and OBJ domains, as in CPython; others for blocks tracked with
   * `trackExternal` (another allocator's, a WASM module's).
   */
  readonly domain: number;
  /** The size in bytes the caller asked for (not what the allocator rounded it to). */
  readonly size: number;
  /** Where the block was allocated. */
  readonly traceback: Traceback;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `domain` is an integer from
   *   0 to 2^32 - 1, `size` a non-negative safe integer and `traceback` a {@link Traceback}
   */
  constructor(domain: number, size: number, traceback: Traceback) {
    if (!isDomainNumber(domain)) throw optionError("Trace", "domain must be an integer from 0 to 2^32 - 1", domain);
    if (!Number.isSafeInteger(size) || size < 0) throw optionError("Trace", "size must be a non-negative safe integer", size);
    if (!(traceback instanceof Traceback)) throw optionError("Trace", "traceback must be a Traceback", traceback);
    this.domain = domain;
    this.size = size;
    this.traceback = traceback;
    Object.freeze(this);
  }

  /** CPython's `str(trace)`: `"<traceback>: <size>"`, as `app.js:12: 100 B`. */
  toString(): string {
    return `${this.traceback.toString()}: ${formatSize(this.size, false)}`;
  }

  /** True when `other` is a Trace of the same domain, size and traceback. Never throws. */
  equals(other: unknown): boolean {
    return other instanceof Trace && other.domain === this.domain && other.size === this.size && other.traceback.equals(this.traceback);
  }
}
