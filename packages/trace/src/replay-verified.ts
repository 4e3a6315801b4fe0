/*
 * Replaying a trace through an allocator. Two flavours:
 *
 * - replayVerified(): every block is filled with a byte derived from its id and checked before it
 *   is freed or moved and at the end; calloc'd memory is checked to be zero; a NULL return for a
 *   request that should fit is recorded. It finds overlapping blocks, lost contents and broken
 *   realloc copies, and reports the first one with its event number.
 * - replayTimed(): the bare loop, for benchmarks: no checks, no fills, nothing allocated.
 */
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";

/*
 * The testkit depends on no tsmalloc package (every package's tests depend on it), so it states
 * the shape it needs: the Allocator contract's four functions (memalign for `m` events), and a
 * memory with a byte view.
 */

/** What a timed replay calls. */
export interface ReplayTarget {
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(p: number, size: number): number;
  free(p: number): void;
  memalign?(alignment: number, size: number): number;
}

/** A memory whose bytes can be read and written. */
export interface MemoryBytes {
  readonly u8: Uint8Array;
}

/** What a verified replay needs besides: the memory, to fill and check blocks. */
export interface ReplayAllocator extends ReplayTarget {
  readonly memory: MemoryBytes;
}

/** Options of {@link replayVerified}. */
export interface ReplayOptions {
  /** Replay only the first `limit` events. */
  readonly limit?: number;
  /** Called every `every` events (and at the end) with the event number, e.g. to run check(). */
  readonly checkpoint?: (event: number) => void;
  readonly every?: number;
  /** Footprint to sample (bytes mapped); sampled every 1024 events and at the end. */
  readonly footprint?: () => number;
  /** Free every block still live at the end (after checking it). */
  readonly release?: boolean;
  /** The alignment every returned block must have (default 16; pymalloc's `align8` layout gives 8). */
  readonly alignment?: number;
  /** Called once, right after event `probeAt` (0-based) is replayed: e.g. to look at the heap at the trace's peak. */
  readonly probe?: (event: number) => void;
  readonly probeAt?: number;
}

/** Outcome of a replay. */
export interface ReplayResult {
  readonly events: number;
  /** Largest sum of requested bytes of live blocks. */
  readonly peakLiveBytes: number;
  readonly peakLiveBlocks: number;
  /** Largest footprint sampled (0 without a footprint function). */
  readonly peakFootprint: number;
  /** Requests that returned 0. */
  readonly failures: number;
  /** Blocks still live at the end (before `release` freed them). */
  readonly liveBlocks: number;
}

/**
 * What went wrong at which event (0-based): a block's contents, its alignment or bounds, or the
 * allocator threw (the error is the `cause`).
 */
export class ReplayMismatch extends Error {
  override readonly name = "ReplayMismatch";
  readonly event: number;
  /** The message without `event N: `. */
  readonly reason: string;
  constructor(event: number, why: string, options?: ErrorOptions) {
    super(`event ${event}: ${why}`, options);
    this.event = event;
    this.reason = why;
  }
}

/** The allocator threw at `event`: a ReplayMismatch that says so and carries the error. */
function thrownAt(event: number, error: unknown): ReplayMismatch {
  if (error instanceof ReplayMismatch) return error;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ReplayMismatch(event, `the allocator threw ${what}`, { cause: error });
}

/** The fill byte of block `id`: never 0 (so that a missing fill shows) and differs for neighbours. */
export function patternByte(id: number): number {
  return (id % 251) + 1;
}

/** A byte as two hex digits. */
function hexByte(value: number): string {
  return value.toString(16).padStart(2, "0");
}

/** Index of the first byte in [p, p + n) that is not `value`, or -1. */
export function findMismatch(u8: Uint8Array, p: number, n: number, value: number): number {
  let i = p;
  const end = p + n;
  // word at a time over the 4-aligned middle
  const aligned = Math.min(end, i + ((4 - (i & 3)) & 3)); // no `& ~3`: addresses reach 2^32
  for (; i < aligned; i++) if (u8[i] !== value) return i;
  if (end - i >= 4) {
    const words = new Uint32Array(u8.buffer, u8.byteOffset + i, (end - i) >>> 2);
    const expected = (value * 0x01010101) >>> 0;
    for (let w = 0; w < words.length; w++) {
      if (words[w] !== expected) {
        for (let j = i + w * 4; j < i + w * 4 + 4; j++) if (u8[j] !== value) return j;
      }
    }
    i += words.length * 4;
  }
  for (; i < end; i++) if (u8[i] !== value) return i;
  return -1;
}

/**
 * Replays `trace` through `allocator`, checking every block's contents.
 * @throws ReplayMismatch at the first block whose contents are wrong
 */
export function replayVerified(trace: Trace, allocator: ReplayAllocator, options: ReplayOptions = {}): ReplayResult {
  const limit = Math.min(trace.length, options.limit ?? Infinity);
  const every = options.every ?? 0;
  const alignment = options.alignment ?? 16;
  const address = new Float64Array(trace.ids);
  const bytes = new Float64Array(trace.ids);
  let liveBytes = 0;
  let liveBlocks = 0;
  let peakLiveBytes = 0;
  let peakLiveBlocks = 0;
  let peakFootprint = 0;
  let failures = 0;
  const expect = (event: number, id: number): void => {
    const p = address[id]!;
    const at = findMismatch(allocator.memory.u8, p, bytes[id]!, patternByte(id));
    if (at >= 0) {
      throw new ReplayMismatch(event, `block ${id} at 0x${p.toString(16)} (${bytes[id]} bytes) was overwritten at +${at - p}: 0x${hexByte(allocator.memory.u8[at]!)} instead of 0x${hexByte(patternByte(id))}`);
    }
  };
  const created = (event: number, id: number, p: number, n: number, zeroed: boolean): void => {
    if (p === 0) {
      failures++;
      return;
    }
    if (p % alignment !== 0) throw new ReplayMismatch(event, `block ${id} at 0x${p.toString(16)} is not ${alignment}-byte aligned`);
    const u8 = allocator.memory.u8;
    if (p + n > u8.length) throw new ReplayMismatch(event, `block ${id} at 0x${p.toString(16)} (${n} bytes) leaves the memory`);
    if (zeroed) {
      const at = findMismatch(u8, p, n, 0);
      if (at >= 0) throw new ReplayMismatch(event, `calloc block ${id} is not zero at +${at - p}`);
    }
    u8.fill(patternByte(id), p, p + n);
    address[id] = p;
    bytes[id] = n;
    liveBytes += n;
    liveBlocks++;
    if (liveBytes > peakLiveBytes) peakLiveBytes = liveBytes;
    if (liveBlocks > peakLiveBlocks) peakLiveBlocks = liveBlocks;
  };
  const ended = (id: number): void => {
    liveBytes -= bytes[id]!;
    liveBlocks--;
    address[id] = 0;
  };
  let event = 0;
  try {
    for (; event < limit; event++) {
      const id = trace.id[event]!;
      const n = trace.size[event]!;
      switch (trace.op[event]) {
        case OP_MALLOC:
          created(event, id, allocator.malloc(n), n, false);
          break;
        case OP_CALLOC: {
          const nmemb = trace.arg[event]!;
          created(event, id, allocator.calloc(nmemb, n), nmemb * n, true);
          break;
        }
        case OP_MEMALIGN: {
          const alignment = trace.arg[event]!;
          if (allocator.memalign === undefined) throw new ReplayMismatch(event, "the allocator has no memalign");
          const p = allocator.memalign(alignment, n);
          if (p !== 0 && p % alignment !== 0) throw new ReplayMismatch(event, `memalign(${alignment}) gave 0x${p.toString(16)}`);
          created(event, id, p, n, false);
          break;
        }
        case OP_REALLOC: {
          const old = trace.arg[event]!;
          const p = address[old]!;
          if (p === 0) {
            // the old block failed to allocate: the program would have called realloc(NULL, n)
            created(event, id, allocator.malloc(n), n, false);
            break;
          }
          expect(event, old);
          const kept = Math.min(bytes[old]!, n);
          const q = allocator.realloc(p, n);
          if (q === 0) {
            // failure leaves the old block: carry it under the new id
            failures++;
            expect(event, old);
            const u8 = allocator.memory.u8;
            u8.fill(patternByte(id), p, p + bytes[old]!);
            address[id] = p;
            bytes[id] = bytes[old]!;
            address[old] = 0;
            break;
          }
          const u8 = allocator.memory.u8;
          const at = findMismatch(u8, q, kept, patternByte(old));
          if (at >= 0) throw new ReplayMismatch(event, `realloc of block ${old} to ${n} bytes lost its contents at +${at - q}`);
          ended(old);
          created(event, id, q, n, false);
          break;
        }
        case OP_FREE: {
          const p = address[id]!;
          if (p === 0) break;
          expect(event, id);
          allocator.free(p);
          ended(id);
          break;
        }
      }
      if (options.footprint !== undefined && (event & 1023) === 0) peakFootprint = Math.max(peakFootprint, options.footprint());
      if (event === options.probeAt) options.probe?.(event);
      if (every > 0 && options.checkpoint !== undefined && event % every === every - 1) options.checkpoint(event);
    }
  } catch (error) {
    throw thrownAt(event, error);
  }
  const liveAtEnd = liveBlocks;
  try {
    // the end of the trace counts as event `limit`
    for (let id = 0; id < trace.ids; id++) {
      if (address[id] === 0) continue;
      expect(limit, id);
      if (options.release === true) {
        allocator.free(address[id]!);
        ended(id);
      }
    }
    if (options.footprint !== undefined) peakFootprint = Math.max(peakFootprint, options.footprint());
    options.checkpoint?.(limit);
  } catch (error) {
    throw thrownAt(limit, error);
  }
  return { events: limit, peakLiveBytes, peakLiveBlocks, peakFootprint, failures, liveBlocks: liveAtEnd };
}

/**
 * Replays events [start, limit) of `trace` with no checks, for timing. `address` is scratch space
 * of at least `trace.ids` entries, zeroed (allocate it once, outside the timed region); it maps
 * block ids to addresses, so a replay may be cut into pieces (`[0, k)` then `[k, n)`) with a look
 * at the heap in between. Blocks still live at the end stay allocated.
 * @returns the number of requests that returned 0
 */
export function replayTimed(trace: Trace, allocator: ReplayTarget, address: Float64Array, limit: number = trace.length, start: number = 0): number {
  let failures = 0;
  const { op, id, arg, size } = trace;
  let event = start;
  try {
    for (; event < limit; event++) {
      const target = id[event]!;
      switch (op[event]) {
        case OP_MALLOC: {
          const p = allocator.malloc(size[event]!);
          if (p === 0) failures++;
          address[target] = p;
          break;
        }
        case OP_CALLOC: {
          const p = allocator.calloc(arg[event]!, size[event]!);
          if (p === 0) failures++;
          address[target] = p;
          break;
        }
        case OP_MEMALIGN: {
          const p = allocator.memalign!(arg[event]!, size[event]!);
          if (p === 0) failures++;
          address[target] = p;
          break;
        }
        case OP_REALLOC: {
          const old = address[arg[event]!]!;
          const p = old === 0 ? allocator.malloc(size[event]!) : allocator.realloc(old, size[event]!);
          if (p === 0) {
            failures++;
            address[target] = old;
          } else {
            address[target] = p;
          }
          address[arg[event]!] = 0;
          break;
        }
        case OP_FREE: {
          const p = address[target]!;
          if (p !== 0) allocator.free(p);
          address[target] = 0;
          break;
        }
      }
    }
  } catch (error) {
    throw thrownAt(event, error);
  }
  return failures;
}
