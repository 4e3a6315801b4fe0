/*
 * The bare replay loop, for timing: no fills, no checks, nothing allocated per event. It keeps
 * the block id -> address table between calls, so that a replay can be cut into pieces with a
 * look at the heap in between:
 *
 *   events  1 ................ k | k+1 ......................... n
 *           |-- run(k), timed --|  look  |--- run(), timed -----|
 *
 * A request that returns NULL leaves its block out (address 0): a later free of it is skipped,
 * a later realloc of it is a malloc (the program would have called realloc(NULL, n)). A realloc
 * that returns NULL leaves the old block in place under the new id.
 */
import { argumentError, describe } from "./errors.ts";
import { ReplayMismatch, thrownAt } from "./replay-mismatch.ts";
import type { ReplayTarget } from "./replay-target.ts";
import { OP_CALLOC, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";

/**
 * A timed replay of `trace` through `target`, run in one piece or several (see the module
 * comment). Blocks still live at the end stay allocated.
 *
 * ```ts
 * const replay = new TimedReplay(trace, heap);
 * replay.run(profile.peakEvent); // up to and with the peak
 * look(heap);
 * replay.run();                  // the rest
 * ```
 */
export class TimedReplay {
  readonly trace: Trace;
  readonly target: ReplayTarget;
  /** Block id -> the address it has in the target; 0: not live (or its request returned NULL). */
  readonly #address: Float64Array;
  #applied = 0;
  readonly #failed: number[] = [];

  /**
   * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless `target` has malloc, calloc,
   *   realloc and free
   */
  constructor(trace: Trace, target: ReplayTarget) {
    checkTarget("TimedReplay", target);
    this.trace = trace;
    this.target = target;
    this.#address = new Float64Array(trace.ids);
  }

  /** Events applied so far: the replay stands after event `applied`. */
  get applied(): number {
    return this.#applied;
  }

  /** Requests that returned NULL so far. */
  get failures(): number {
    return this.#failed.length;
  }

  /**
   * The events (numbered from 1, in order) whose request returned NULL so far: what
   * `traceProfile`'s `failed` option takes to count only the blocks the replay got.
   */
  get failedEvents(): readonly number[] {
    return this.#failed;
  }

  /** The address block `id` has now; 0 when it is not live, or its request returned NULL. Never throws. */
  addressOf(id: number): number {
    return Number.isInteger(id) && id >= 0 && id < this.#address.length ? this.#address[id]! : 0;
  }

  /**
   * Applies the events after {@link TimedReplay.applied} up to and with event `until` (all the
   * rest by default; nothing when `until` is not past `applied`).
   * @returns the number of requests among them that returned NULL
   * @throws ReplayMismatch when the target throws (the error is its `cause`) or an `m` event
   *   meets a target without memalign; the events before that one stay applied.
   *   TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `until` is not an integer from 0 to the
   *   trace's length
   */
  run(until: number = this.trace.length): number {
    if (!Number.isInteger(until) || until < 0 || until > this.trace.length) throw argumentError("TimedReplay.run", `until must be an integer from 0 to ${this.trace.length}, got ${describe(until)}`);
    const { op, id, arg, size } = this.trace;
    const target = this.target;
    const address = this.#address;
    const failed = this.#failed;
    const before = failed.length;
    let i = this.#applied;
    try {
      for (; i < until; i++) {
        const block = id[i]!;
        let p: number;
        switch (op[i]) {
          case OP_MALLOC:
            p = target.malloc(size[i]!);
            break;
          case OP_CALLOC:
            p = target.calloc(arg[i]!, size[i]!);
            break;
          case OP_MEMALIGN:
            if (target.memalign === undefined) throw new ReplayMismatch(i + 1, "an m event, and the target has no memalign");
            p = target.memalign(arg[i]!, size[i]!);
            break;
          case OP_REALLOC: {
            const old = address[arg[i]!]!;
            p = old === 0 ? target.malloc(size[i]!) : target.realloc(old, size[i]!);
            address[arg[i]!] = 0;
            // a failed realloc leaves the old block: it goes on under the new id
            if (p === 0) address[block] = old;
            break;
          }
          default: {
            // OP_FREE
            const q = address[block]!;
            if (q !== 0) target.free(q);
            address[block] = 0;
            continue;
          }
        }
        if (p === 0) failed.push(i + 1);
        else address[block] = p;
      }
    } catch (error) {
      throw thrownAt(i + 1, error);
    } finally {
      this.#applied = Math.max(this.#applied, i);
    }
    return failed.length - before;
  }
}

/**
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` unless `target` has the four functions
 *   of {@link ReplayTarget}
 */
export function checkTarget(fn: string, target: ReplayTarget): void {
  const t = target as Partial<ReplayTarget> | null;
  if (typeof t !== "object" || t === null) throw argumentError(fn, `the target must be an allocator (malloc, calloc, realloc, free), got ${describe(target)}`);
  for (const name of ["malloc", "calloc", "realloc", "free"] as const) {
    if (typeof t[name] !== "function") throw argumentError(fn, `the target must be an allocator (malloc, calloc, realloc, free): it has no ${name}()`);
  }
}
