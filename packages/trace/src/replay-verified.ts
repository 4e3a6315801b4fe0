/*
 * A replay that checks the allocator: every block is filled with a byte derived from its id and
 * checked before it is freed or moved, and once more after the last event; calloc's blocks must
 * be zero; every block must be aligned and inside the memory; a realloc must keep the old
 * contents. It finds overlapping blocks, lost contents and broken realloc copies, and reports
 * the first one with its event number (from 1).
 *
 * NULL returns follow the timed replay's rules (timed-replay.ts): the block is left out, a later
 * free of it skipped, a later realloc of it a malloc; a failed realloc keeps the old block.
 */
import { argumentError, describe } from "./errors.ts";
import { findMismatch, patternByte } from "./fill-pattern.ts";
import { ReplayMismatch, thrownAt } from "./replay-mismatch.ts";
import type { ReplayTarget, TargetMemory } from "./replay-target.ts";
import { checkTarget } from "./timed-replay.ts";
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";

/** Options of {@link replayVerified}. */
export interface ReplayOptions {
  /** Replay only the first `limit` events. */
  readonly limit?: number;
  /**
   * Called after every `every` events with the number of events applied, and at the end (after
   * the last checks and the release, with the last event's number): e.g. to run the heap's
   * check(). Once per event number: when `every` divides the events replayed, the call at the end
   * is the last event's.
   */
  readonly checkpoint?: (event: number) => void;
  readonly every?: number;
  /** The footprint to sample (bytes mapped); sampled every 1024 events and at the end. */
  readonly footprint?: () => number;
  /** Free every block still live at the end (after checking it). */
  readonly release?: boolean;
  /** The alignment every returned block must have. @defaultValue 16 */
  readonly alignment?: number;
  /** Called once, right after event `probeAfter` (from 1): e.g. to look at the heap at the trace's peak. */
  readonly probe?: (event: number) => void;
  readonly probeAfter?: number;
}

/** What a verified replay found. */
export interface ReplayResult {
  /** Events replayed. */
  readonly events: number;
  /** The largest sum of requested bytes of the blocks the allocator gave and that were live at once. */
  readonly peakLiveBytes: number;
  readonly peakLiveBlocks: number;
  /** The largest footprint sampled (0 without a footprint function). */
  readonly peakFootprint: number;
  /** Requests that returned NULL. */
  readonly failures: number;
  /** The events (from 1, in order) whose request returned NULL. */
  readonly failedEvents: readonly number[];
  /** Blocks still live at the end (before `release` freed them), and their requested bytes. */
  readonly liveBlocks: number;
  readonly liveBytes: number;
}

/** A byte as two hex digits. */
function hexByte(value: number): string {
  return value.toString(16).padStart(2, "0");
}

/**
 * Replays `trace` through `target`, checking every block's contents (see the module comment).
 * The target must have a `memory` (every `@tsmalloc/memory` Allocator and every domainTarget has).
 * @throws ReplayMismatch at the first fault, or when the target throws (the error is the `cause`);
 *   TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when the target is not an allocator with a
 *   memory, or an option is not as documented
 */
export function replayVerified(trace: Trace, target: ReplayTarget, options: ReplayOptions = {}): ReplayResult {
  checkTarget("replayVerified", target);
  const memory: TargetMemory | undefined = target.memory;
  if (!(memory?.u8 instanceof Uint8Array)) throw argumentError("replayVerified", "the target must have a memory with a u8 view, to fill and check the blocks");
  if (options.limit !== undefined && !(options.limit >= 0)) throw argumentError("replayVerified", `limit must be a non-negative number, got ${describe(options.limit)}`);
  const limit = Math.min(trace.length, options.limit ?? Infinity);
  const every = options.every ?? 0;
  const alignment = options.alignment ?? 16;
  const address = new Float64Array(trace.ids);
  const bytes = new Float64Array(trace.ids);
  const failedEvents: number[] = [];
  let liveBytes = 0;
  let liveBlocks = 0;
  let peakLiveBytes = 0;
  let peakLiveBlocks = 0;
  let peakFootprint = 0;
  const expect = (event: number, id: number, atEnd: boolean = false): void => {
    const p = address[id]!;
    const u8 = memory.u8;
    const at = findMismatch(u8, p, bytes[id]!, patternByte(id));
    if (at >= 0) {
      throw new ReplayMismatch(event, `block ${id} at 0x${p.toString(16)} (${bytes[id]} bytes) was overwritten at +${at - p}: 0x${hexByte(u8[at]!)} instead of 0x${hexByte(patternByte(id))}`, { atEnd });
    }
  };
  const created = (event: number, id: number, p: number, n: number, zeroed: boolean): void => {
    if (p === 0) {
      failedEvents.push(event);
      return;
    }
    if (p % alignment !== 0) throw new ReplayMismatch(event, `block ${id} at 0x${p.toString(16)} is not ${alignment}-byte aligned`);
    const u8 = memory.u8;
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
    for (let i = 0; i < limit; i++) {
      event = i + 1;
      const id = trace.id[i]!;
      const n = trace.size[i]!;
      switch (trace.op[i]) {
        case OP_MALLOC:
          created(event, id, target.malloc(n), n, false);
          break;
        case OP_CALLOC: {
          const nmemb = trace.arg[i]!;
          created(event, id, target.calloc(nmemb, n), nmemb * n, true);
          break;
        }
        case OP_MEMALIGN: {
          const align = trace.arg[i]!;
          if (target.memalign === undefined) throw new ReplayMismatch(event, "an m event, and the target has no memalign");
          const p = target.memalign(align, n);
          if (p !== 0 && p % align !== 0) throw new ReplayMismatch(event, `memalign(${align}) gave 0x${p.toString(16)}`);
          created(event, id, p, n, false);
          break;
        }
        case OP_REALLOC: {
          const old = trace.arg[i]!;
          const p = address[old]!;
          if (p === 0) {
            // the old block's request returned NULL: the program would have called realloc(NULL, n)
            created(event, id, target.malloc(n), n, false);
            break;
          }
          expect(event, old);
          const kept = Math.min(bytes[old]!, n);
          const q = target.realloc(p, n);
          if (q === 0) {
            // a failed realloc leaves the old block: it goes on under the new id, refilled
            failedEvents.push(event);
            expect(event, old);
            memory.u8.fill(patternByte(id), p, p + bytes[old]!);
            address[id] = p;
            bytes[id] = bytes[old]!;
            if (old !== id) address[old] = 0;
            break;
          }
          const at = findMismatch(memory.u8, q, kept, patternByte(old));
          if (at >= 0) throw new ReplayMismatch(event, `realloc of block ${old} to ${n} bytes lost its contents at +${at - q}`);
          ended(old);
          created(event, id, q, n, false);
          break;
        }
        case OP_FREE: {
          const p = address[id]!;
          if (p === 0) break;
          expect(event, id);
          target.free(p);
          ended(id);
          break;
        }
      }
      if (options.footprint !== undefined && (i & 1023) === 0) peakFootprint = Math.max(peakFootprint, options.footprint());
      if (event === options.probeAfter) options.probe?.(event);
      // (the last event's checkpoint is the one at the end, below)
      if (every > 0 && options.checkpoint !== undefined && event % every === 0 && event !== limit) options.checkpoint(event);
    }
  } catch (error) {
    throw thrownAt(event, error);
  }
  const liveAtEnd = liveBlocks;
  const bytesAtEnd = liveBytes;
  try {
    for (let id = 0; id < trace.ids; id++) {
      if (address[id] === 0) continue;
      expect(limit, id, true);
      if (options.release === true) {
        target.free(address[id]!);
        ended(id);
      }
    }
    if (options.footprint !== undefined) peakFootprint = Math.max(peakFootprint, options.footprint());
    options.checkpoint?.(limit);
  } catch (error) {
    throw thrownAt(limit, error, true);
  }
  return { events: limit, peakLiveBytes, peakLiveBlocks, peakFootprint, failures: failedEvents.length, failedEvents, liveBlocks: liveAtEnd, liveBytes: bytesAtEnd };
}
