/*
 * Property tests: random malloc / calloc / realloc / free through the hooks around Malloc, with
 * out-of-bounds writes injected at random: runs of 1..8 bytes past the end of a block or 1..7
 * bytes before its start, and single stray bytes anywhere in those 8 or 7. Every injected corruption must be reported at the next free or realloc of
 * its block, as CPython's check words it and with each damaged byte marked; nothing may be
 * reported for a block that nobody damaged; contents survive (testkit's AllocatorModel), and the
 * wrapped heap stays valid.
 *
 * TSMALLOC_PROPERTY_RUNS=n sets the number of runs per property; TSMALLOC_SOAK=1 runs many more,
 * longer sequences.
 */
import { DebugAllocator, DebugCorruptionError, type DebugHookOptions, FORBIDDENBYTE, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { AllocatorModel } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const soak = process.env.TSMALLOC_SOAK === "1";
const numRuns = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? (soak ? 1000 : 100));
const maxLength = soak ? 600 : 150;
const timeout = soak ? 3_600_000 : 120_000;

type Op =
  | { readonly op: "malloc"; readonly size: number }
  | { readonly op: "calloc"; readonly nelem: number; readonly elsize: number }
  | { readonly op: "realloc"; readonly pick: number; readonly size: number }
  | { readonly op: "free"; readonly pick: number }
  | { readonly op: "overflow"; readonly pick: number; readonly length: number; readonly byte: number }
  | { readonly op: "underflow"; readonly pick: number; readonly length: number; readonly byte: number }
  | { readonly op: "stray"; readonly pick: number; readonly offset: number; readonly byte: number };

/** Sizes around the 64 + 64 bytes realloc saves, with some larger ones. */
const size = fc.oneof(
  { weight: 50, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 15, arbitrary: fc.integer({ min: 201, max: 5000 }) },
  { weight: 5, arbitrary: fc.integer({ min: 5001, max: 100_000 }) },
  { weight: 3, arbitrary: fc.constantFrom(0, 1, 63, 64, 65, 127, 128, 129) },
);
const notForbidden = fc.integer({ min: 0, max: 255 }).filter((b) => b !== FORBIDDENBYTE);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), size }) },
  { weight: 8, arbitrary: fc.record({ op: fc.constant("calloc" as const), nelem: fc.integer({ min: 0, max: 40 }), elsize: fc.integer({ min: 0, max: 40 }) }) },
  { weight: 15, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
  { weight: 30, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("overflow" as const), pick: fc.nat(), length: fc.integer({ min: 1, max: 8 }), byte: notForbidden }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("underflow" as const), pick: fc.nat(), length: fc.integer({ min: 1, max: 7 }), byte: notForbidden }) },
  // one byte at p-7 .. p-1 (offset -7 .. -1) or at tail+0 .. tail+7 (offset 0 .. 7)
  { weight: 4, arbitrary: fc.record({ op: fc.constant("stray" as const), pick: fc.nat(), offset: fc.integer({ min: -7, max: 7 }), byte: notForbidden }) },
);

/** A live block and what was written around it. */
interface Live {
  p: number;
  size: number;
  /** Bytes written before the start: i (for p-i) to the byte. */
  readonly before: Map<number, number>;
  /** Bytes written past the end: i (for tail+i) to the byte. */
  readonly after: Map<number, number>;
}

function fresh(p: number, size: number): Live {
  return { p, size, before: new Map(), after: new Map() };
}

function damaged(block: Live): boolean {
  return block.before.size > 0 || block.after.size > 0;
}

const totals = { operations: 0, injected: 0, reported: 0 };

/** What the report of `block` must say, given what was written around it. */
function expectReport(error: DebugCorruptionError, block: Live, func: string): void {
  const message = block.before.size > 0 ? "bad leading pad byte" : "bad trailing pad byte";
  if (error.message !== `${func}: ${message}`) throw new Error(`expected "${func}: ${message}", got "${error.message}"`);
  if (error.address !== block.p) throw new Error(`the report is about 0x${error.address.toString(16)}, not 0x${block.p.toString(16)}`);
  const hex = (b: number): string => b.toString(16).padStart(2, "0");
  for (const [i, byte] of block.before) {
    if (!error.report.includes(`\n        at p-${i}: 0x${hex(byte)} *** OUCH\n`)) throw new Error(`p-${i} is not marked in:\n${error.report}`);
  }
  for (const [i, byte] of block.after) {
    if (!error.report.includes(`\n        at tail+${i}: 0x${hex(byte)} *** OUCH\n`)) throw new Error(`tail+${i} is not marked in:\n${error.report}`);
  }
  const ouches = error.report.split("*** OUCH").length - 1;
  // the dump shows both pads, whichever check failed
  const expected = block.before.size + block.after.size;
  if (ouches !== expected) throw new Error(`${ouches} bytes marked, ${expected} damaged:\n${error.report}`);
  if (!error.report.endsWith(`Fatal tsmalloc error: ${func}: ${message}\n`)) throw new Error(`bad last line in:\n${error.report}`);
  totals.reported++;
}

/** Puts the pad bytes back, so that the block can be freed for real. */
function repair(hooks: DebugAllocator, block: Live): void {
  const u8 = hooks.memory.u8;
  u8.fill(FORBIDDENBYTE, block.p - 7, block.p);
  u8.fill(FORBIDDENBYTE, block.p + block.size, block.p + block.size + 8);
  block.before.clear();
  block.after.clear();
}

/** Writes `byte` at p-i (i > 0) or tail+i (i >= 0, `after`) of `block`, counting new damage. */
function inject(hooks: DebugAllocator, block: Live, after: boolean, i: number, byte: number): void {
  if (!damaged(block)) totals.injected++;
  if (after) {
    hooks.memory.u8[block.p + block.size + i] = byte;
    block.after.set(i, byte);
  } else {
    hooks.memory.u8[block.p - i] = byte;
    block.before.set(i, byte);
  }
}

/**
 * Runs `ops`. With `handled`, failed checks go to a handler (the call then does nothing);
 * otherwise they throw.
 */
function run(ops: readonly Op[], options: DebugHookOptions, handled: boolean): void {
  const heap = new Malloc(new LinearMemory());
  const reports: DebugCorruptionError[] = [];
  const hooks = withDebugHooks(heap, handled ? { ...options, onCorruption: (error) => reports.push(error) } : options);
  const model = new AllocatorModel(hooks.memory);
  const live: Live[] = [];

  /** Calls `call` on `block`, which must be reported when it was damaged. */
  const checked = <T>(block: Live, func: string, call: () => T): T => {
    if (!damaged(block)) {
      const result = call();
      if (reports.length > 0) throw new Error(`an intact block was reported: ${reports[0]!.message}`);
      return result;
    }
    let error: unknown;
    const before = hooks.memory.u8.slice();
    try {
      call();
    } catch (e) {
      error = e;
    }
    if (handled) {
      if (error !== undefined) throw error;
      error = reports.pop();
    }
    if (!(error instanceof DebugCorruptionError)) throw new Error(`damage around 0x${block.p.toString(16)} was not reported (${String(error)})`);
    expectReport(error, block, func);
    if (Buffer.compare(before, hooks.memory.u8) !== 0) throw new Error("a refused call changed the memory");
    repair(hooks, block);
    return call();
  };

  const created = (p: number, n: number, zeroed: boolean): void => {
    model.allocated(p, n, zeroed);
    if (p !== 0) live.push(fresh(p, n));
  };

  for (const step of ops) {
    totals.operations++;
    switch (step.op) {
      case "malloc":
        created(hooks.malloc(step.size), step.size, false);
        break;
      case "calloc":
        created(hooks.calloc(step.nelem, step.elsize), step.nelem * step.elsize, true);
        break;
      case "realloc": {
        if (live.length === 0) break;
        const at = step.pick % live.length;
        const block = live[at]!;
        const q = checked(block, "debugRawRealloc", () => hooks.realloc(block.p, step.size));
        model.reallocated(block.p, q, step.size);
        if (q !== 0) {
          live.splice(at, 1);
          live.push(fresh(q, step.size));
        }
        break;
      }
      case "free": {
        if (live.length === 0) break;
        const block = live.splice(step.pick % live.length, 1)[0]!;
        model.freed(block.p);
        checked(block, "debugRawFree", () => hooks.free(block.p));
        break;
      }
      case "overflow": {
        if (live.length === 0) break;
        const block = live[step.pick % live.length]!;
        for (let i = 0; i < step.length; i++) inject(hooks, block, true, i, step.byte);
        break;
      }
      case "underflow": {
        if (live.length === 0) break;
        const block = live[step.pick % live.length]!;
        for (let i = 1; i <= step.length; i++) inject(hooks, block, false, i, step.byte);
        break;
      }
      case "stray": {
        if (live.length === 0) break;
        const block = live[step.pick % live.length]!;
        inject(hooks, block, step.offset >= 0, Math.abs(step.offset), step.byte);
        break;
      }
    }
    const check = heap.check();
    if (!check.ok) throw new Error(`heap check after ${step.op}: ${JSON.stringify(check.problems.slice(0, 3))}`);
  }
  model.verifyAll();
  for (const block of live) {
    model.freed(block.p);
    checked(block, "debugRawFree", () => hooks.free(block.p));
  }
  expect(heap.stats().allocatedBlocks).toBe(1); // the hooks' state block
  expect(heap.check().ok).toBe(true);
}

describe("random operations with injected out-of-bounds writes", () => {
  it("every damaged block is reported at its next free or realloc, and no other (RAW, throwing)", { timeout }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength, size: "max" }), (ops) => run(ops, { api: "r" }, false)),
      { numRuns },
    );
  });

  it("the same through MEM hooks with serial numbers and a handler that lets the call do nothing", { timeout }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength, size: "max" }), (ops) => run(ops, { api: "m", serialNumbers: true }, true)),
      { numRuns },
    );
  });

  it("injected and checked enough to mean something", () => {
    expect(totals.operations).toBeGreaterThan(2 * numRuns * 20);
    expect(totals.injected).toBeGreaterThan(numRuns / 2);
    // every damaged block was reported exactly once (the repair then let it go)
    expect(totals.reported).toBe(totals.injected);
  });
});
