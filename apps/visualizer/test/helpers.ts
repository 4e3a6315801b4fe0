/*
 * Helpers of the visualizer's tests: the bundled trace's prefixes (loaded once per file), a
 * reference replay that drives a fresh runtime with a plain loop over the events (no
 * ReplaySession, no replayTimed), byte snapshots of a memory, and error capture.
 */
import { LinearMemory } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, type Runtime } from "@tsmalloc/registry";
import { bundledTracePath, loadTrace, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, parseTrace, type Trace } from "@tsmalloc/testkit";
import { expect } from "vitest";

const prefixes = new Map<number, Trace>();

/** The first `limit` events of py_compileall (cached: several tests share one). */
export function compileallPrefix(limit: number): Trace {
  let trace = prefixes.get(limit);
  if (trace === undefined) {
    trace = loadTrace(bundledTracePath("py_compileall"), limit);
    prefixes.set(limit, trace);
  }
  return trace;
}

/** A trace from its text (lines joined with newlines). */
export function traceOf(lines: readonly string[], name: string = "test"): Trace {
  return parseTrace(new TextEncoder().encode(`${lines.join("\n")}\n`), name);
}

/** The block the event at index `index` (event `index + 1`) frees (f) or moves away (r), or -1 for one that releases none. */
export function releasedBy(trace: Trace, index: number): number {
  const op = trace.op[index];
  return op === OP_FREE ? trace.id[index]! : op === OP_REALLOC ? trace.arg[index]! : -1;
}

/**
 * A trace replayed by hand through a fresh runtime's MEM domain: `m` with an alignment up to 16
 * is a malloc (anything else is a NULL), `r` of a block whose request returned NULL is a malloc,
 * a realloc that returns NULL leaves the old block under the new id, `f` of such a block does
 * nothing. `size[id]` is the size of the block the replay holds under id (the old block's after
 * a failed realloc).
 */
export class Reference {
  readonly trace: Trace;
  readonly memory: LinearMemory;
  readonly runtime: Runtime;
  readonly baseline: number;
  readonly address: Float64Array;
  readonly size: Float64Array;
  cursor = 0;
  failures = 0;

  constructor(trace: Trace, config: AllocatorConfig) {
    this.trace = trace;
    this.memory = new LinearMemory();
    this.baseline = this.memory.stats().mappedBytes;
    this.runtime = createRuntime({ memory: this.memory, allocator: config });
    this.address = new Float64Array(trace.ids);
    this.size = new Float64Array(trace.ids);
  }

  /** Bytes mapped beyond the fresh memory's own. */
  footprint(): number {
    return this.memory.stats().mappedBytes - this.baseline;
  }

  /** Applies the event at the cursor (throws what the allocator throws, the cursor then unmoved). */
  step(): void {
    const { trace, runtime, address, size } = this;
    const event = this.cursor;
    const id = trace.id[event]!;
    const n = trace.size[event]!;
    const made = (p: number, bytes: number): void => {
      if (p === 0) this.failures++;
      address[id] = p;
      size[id] = p === 0 ? 0 : bytes;
    };
    switch (trace.op[event]) {
      case OP_MALLOC:
        made(runtime.memMalloc(n), n);
        break;
      case OP_CALLOC:
        made(runtime.memCalloc(trace.arg[event]!, n), trace.arg[event]! * n);
        break;
      case OP_MEMALIGN:
        made(trace.arg[event]! <= 16 ? runtime.memMalloc(n) : 0, n);
        break;
      case OP_REALLOC: {
        const old = trace.arg[event]!;
        const p = address[old]!;
        const oldSize = size[old]!;
        const q = p === 0 ? runtime.memMalloc(n) : runtime.memRealloc(p, n);
        address[old] = 0;
        size[old] = 0;
        if (q === 0) {
          this.failures++;
          address[id] = p;
          size[id] = oldSize;
        } else {
          address[id] = q;
          size[id] = n;
        }
        break;
      }
      case OP_FREE: {
        const p = address[id]!;
        if (p !== 0) runtime.memFree(p);
        address[id] = 0;
        size[id] = 0;
        break;
      }
      default:
        throw new Error(`unknown op ${trace.op[event]}`);
    }
    this.cursor++;
  }

  /** Applies events up to `events` (calling `after(cursor)` after each, when given). */
  advanceTo(events: number, after?: (cursor: number) => void): this {
    while (this.cursor < events) {
      this.step();
      after?.(this.cursor);
    }
    return this;
  }
}

/** A fresh reference replay of the first `events` events. */
export function referenceAt(trace: Trace, config: AllocatorConfig, events: number): Reference {
  return new Reference(trace, config).advanceTo(events);
}

/** What a session exposes that the comparison reads (a ReplaySession is one). */
export interface SessionLike {
  readonly runtime: Runtime;
  readonly cursor: number;
  readonly failures: number;
  footprint(): number;
  addressOf(id: number): number;
}

/** The first differing byte of two byte arrays, or -1 (a length difference counts at the shorter length). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.compare(a, b) === 0) return -1;
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  return at;
}

/** Expects `session` to stand exactly where `reference` does: cursor, heaps, blocks, bytes. */
export function expectSameState(session: SessionLike, reference: Reference, label: string = ""): void {
  const where = `${label} after ${reference.cursor} events`;
  expect(session.cursor, where).toBe(reference.cursor);
  const a = session.runtime;
  const b = reference.runtime;
  expect(a.debugMallocStats(), where).toBe(b.debugMallocStats());
  expect(a.mallocHeap.stats(), where).toEqual(b.mallocHeap.stats());
  expect(a.check(), where).toEqual(b.check());
  expect(a.check().ok, where).toBe(true);
  expect(session.footprint(), where).toBe(reference.footprint());
  expect(session.failures, where).toBe(reference.failures);
  let wrong = -1;
  for (let id = 0; id < reference.trace.ids; id++) {
    if (session.addressOf(id) !== reference.address[id]) {
      wrong = id;
      break;
    }
  }
  expect(wrong === -1 ? "every address as the reference's" : `block ${wrong}: ${session.addressOf(wrong)} vs ${reference.address[wrong]}`, where).toBe(
    "every address as the reference's",
  );
  const at = firstDifference(a.memory.u8, b.memory.u8);
  expect(at, `${where}: first differing memory byte`).toBe(-1);
}

/** Runs `fn` and returns what it throws; fails the test when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail("expected the call to throw");
}

/** Runs async `fn` and returns what it rejects with; fails the test when it resolves. */
export async function rejected(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  expect.fail("expected the promise to reject");
}

/** Property runs (TSMALLOC_PROPERTY_RUNS=n overrides `fallback`). */
export function propertyRuns(fallback: number): number {
  const value = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? fallback);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}
