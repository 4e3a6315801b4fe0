/*
 * From calls to events: a program's malloc, calloc, realloc, free and aligned allocations, each
 * with the address it gave or took, become trace events that name blocks by id, with the
 * format's normalisations:
 *
 *   call                                   event                 counted as
 *   p = malloc(n)                          a ID n                (ids in order of first allocation)
 *   p = calloc(k, n)                       c ID k n
 *   q = realloc(p, n)                      r OLDID NEWID n       (a new id, even when q == p)
 *   q = realloc(NULL, n)                   a ID n                reallocNull
 *   q = realloc(p, n), p never seen        a ID n                unknownReallocs
 *   p = memalign(al, n)                    m ID al n
 *   free(p)                                f ID
 *   free(NULL)                             (nothing)             freeNull
 *   free(p), p never seen                  (nothing)             unknownFrees
 *   any request that returned NULL         (a comment)           nullReturns
 *   p handed out while p is still live     f OLDID first         reusedAddresses
 *
 * A request that returned NULL is not an event: the block never existed, and what a replay
 * would get for it depends on the memory's size and on fault injection, which a trace does not
 * carry. It is written as a comment (`# malloc(3000000000) returned NULL`) for the reader.
 * "Never seen" is a block allocated before the recording began (or by another allocator).
 */
import { AddressTable } from "./address-table.ts";
import { argumentError, describe } from "./errors.ts";
import { ID_LIMIT, MAX_SIZE } from "./event-rules.ts";
import type { TraceSink } from "./trace-sink.ts";

/** What a recorder changed or left out, by reason (see the table in {@link TraceRecorder}). */
export interface RecorderCounts {
  /** Events written. */
  readonly events: number;
  /** Requests that returned NULL: written as comments, not events. */
  readonly nullReturns: number;
  /** `free(NULL)`: nothing written. */
  readonly freeNull: number;
  /** Frees of an address never seen allocated: nothing written. */
  readonly unknownFrees: number;
  /** `realloc(NULL, n)`: written as `a`. */
  readonly reallocNull: number;
  /** Reallocs of an address never seen allocated: written as `a` of the new block. */
  readonly unknownReallocs: number;
  /** An address handed out again while it was live here (freed where the recorder did not see): `f` of the old block first. */
  readonly reusedAddresses: number;
  /** `realloc(p, 0)` that returned NULL and freed `p` (with `reallocZeroFrees`): written as `f`. */
  readonly reallocZeroFrees: number;
}

/** Options of {@link TraceRecorder}. */
export interface TraceRecorderOptions {
  /**
   * `realloc(p, 0)` returning NULL means `p` was freed, as in glibc and dlmalloc; without it, such
   * a NULL is a failure that leaves `p` live, as tsmalloc's `Allocator` contract says.
   * @defaultValue false
   */
  readonly reallocZeroFrees?: boolean;
}

/**
 * Turns calls with addresses into events with ids, written to a {@link TraceSink}. Call the
 * method that matches each call the program made, after it returned, with what it returned.
 *
 * ```ts
 * const recorder = new TraceRecorder(new TraceWriter((text) => out.push(text)));
 * recorder.malloc(100, 0x10010);        // a 0 100
 * recorder.realloc(0x10010, 200, 0x10400); // r 0 1 200
 * recorder.free(0x10400);               // f 1
 * recorder.free(0);                     // nothing: free(NULL)
 * ```
 */
export class TraceRecorder {
  /** Where the events go. */
  readonly sink: TraceSink;
  readonly #reallocZeroFrees: boolean;
  /** address -> id of the blocks live now (a typed table: recording a call allocates nothing) */
  readonly #blocks = new AddressTable();
  #nextId = 0;
  #events = 0;
  #nullReturns = 0;
  #freeNull = 0;
  #unknownFrees = 0;
  #reallocNull = 0;
  #unknownReallocs = 0;
  #reusedAddresses = 0;
  #zeroFrees = 0;

  /** @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` for a sink without the TraceSink methods or bad options */
  constructor(sink: TraceSink, options: TraceRecorderOptions = {}) {
    for (const method of ["malloc", "calloc", "realloc", "free", "memalign", "comment"] as const) {
      if (typeof (sink as Partial<TraceSink> | null)?.[method] !== "function") throw argumentError("TraceRecorder", `the sink must have the TraceSink methods; ${method} is missing`);
    }
    if (typeof options !== "object" || options === null) throw argumentError("TraceRecorder", "options must be an object");
    if (options.reallocZeroFrees !== undefined && typeof options.reallocZeroFrees !== "boolean") throw argumentError("TraceRecorder", "reallocZeroFrees must be a boolean");
    this.sink = sink;
    this.#reallocZeroFrees = options.reallocZeroFrees ?? false;
  }

  /** Blocks live now, as far as the recorder saw. */
  get liveBlocks(): number {
    return this.#blocks.size;
  }

  /** What was written, changed and left out so far. */
  get counts(): RecorderCounts {
    return {
      events: this.#events,
      nullReturns: this.#nullReturns,
      freeNull: this.#freeNull,
      unknownFrees: this.#unknownFrees,
      reallocNull: this.#reallocNull,
      unknownReallocs: this.#unknownReallocs,
      reusedAddresses: this.#reusedAddresses,
      reallocZeroFrees: this.#zeroFrees,
    };
  }

  /** `address = malloc(size)`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` for a size or address that is not a valid number */
  malloc(size: number, address: number): void {
    checkSize("malloc", "size", size);
    checkAddress("malloc", "the result", address);
    if (address === 0) return this.#returnedNull(`malloc(${size})`);
    this.sink.malloc(this.#created(address), size);
  }

  /** `address = calloc(nmemb, size)`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` as {@link TraceRecorder.malloc} */
  calloc(nmemb: number, size: number, address: number): void {
    checkSize("calloc", "nmemb", nmemb);
    checkSize("calloc", "size", size);
    checkAddress("calloc", "the result", address);
    if (address === 0) return this.#returnedNull(`calloc(${nmemb}, ${size})`);
    // NMEMB is kept in 32 bits: calloc(2^40, 0) is written as c ID 0 2^40, the same product
    const swap = nmemb >= ID_LIMIT;
    const k = swap ? size : nmemb;
    if (k >= ID_LIMIT || nmemb * size > MAX_SIZE) throw argumentError("TraceRecorder.calloc", `calloc(${nmemb}, ${size}) cannot have given a block (the product is over 2^53)`);
    this.sink.calloc(this.#created(address), k, swap ? nmemb : size);
  }

  /**
   * `result = realloc(address, size)`.
   * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` as {@link TraceRecorder.malloc}
   */
  realloc(address: number, size: number, result: number): void {
    checkAddress("realloc", "address", address);
    checkSize("realloc", "size", size);
    checkAddress("realloc", "result", result);
    const old = address === 0 ? -1 : this.#blocks.get(address);
    if (result === 0) {
      if (size === 0 && this.#reallocZeroFrees && old !== -1) {
        this.#blocks.delete(address);
        this.#zeroFrees++;
        this.#event();
        this.sink.free(old);
        return;
      }
      return this.#returnedNull(`realloc(${address === 0 ? "NULL" : hex(address)}, ${size})`);
    }
    if (old === -1) {
      if (address === 0) this.#reallocNull++;
      else this.#unknownReallocs++;
      this.sink.malloc(this.#created(result), size);
      return;
    }
    this.#blocks.delete(address);
    this.sink.realloc(old, this.#created(result), size);
  }

  /** `free(address)`. @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` for an address that is not a valid number */
  free(address: number): void {
    checkAddress("free", "address", address);
    if (address === 0) {
      this.#freeNull++;
      return;
    }
    const id = this.#blocks.delete(address);
    if (id === -1) {
      this.#unknownFrees++;
      return;
    }
    this.#event();
    this.sink.free(id);
  }

  /**
   * `address = memalign(alignment, size)` (or `posix_memalign`, `aligned_alloc`).
   * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` as {@link TraceRecorder.malloc}, or for
   *   an alignment that is not a power of two below 2^32 when a block was given
   */
  memalign(alignment: number, size: number, address: number): void {
    checkSize("memalign", "size", size);
    checkAddress("memalign", "the result", address);
    if (address === 0) return this.#returnedNull(`memalign(${describe(alignment)}, ${size})`);
    if (!Number.isInteger(alignment) || alignment < 1 || alignment >= ID_LIMIT || (alignment & (alignment - 1)) !== 0) {
      throw argumentError("TraceRecorder.memalign", `alignment must be a power of two below 2^32, got ${describe(alignment)}`);
    }
    this.sink.memalign(this.#created(address), alignment, size);
  }

  /** A request that returned NULL: counted, and a comment for the reader. */
  #returnedNull(call: string): void {
    this.#nullReturns++;
    this.sink.comment(`${call} returned NULL`);
  }

  /** The id of a new block at `address`, after an `f` for a block the recorder still had there. */
  #created(address: number): number {
    const stale = this.#blocks.get(address);
    if (stale !== -1) {
      this.#reusedAddresses++;
      this.#event();
      this.sink.free(stale);
    }
    const id = this.#nextId++;
    this.#blocks.set(address, id);
    this.#event();
    return id;
  }

  #event(): void {
    this.#events++;
  }
}

function checkSize(call: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SIZE) throw argumentError(`TraceRecorder.${call}`, `${name} must be an integer from 0 to 2^53, got ${describe(value)}`);
}

function checkAddress(call: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_SIZE) throw argumentError(`TraceRecorder.${call}`, `${name} must be an address (an integer from 0), got ${describe(value)}`);
}

function hex(address: number): string {
  return `0x${address.toString(16)}`;
}
