/*
 * Property tests of a runtime in every configuration: random sequences of malloc / calloc /
 * realloc / free in all three domains (RAW, MEM, OBJ) through the runtime's entry points, against
 * a model of the live blocks (domain, address, size, fill byte). Sizes are mostly small (0..600,
 * weighted toward 1..512 so that pymalloc's pools and its raw fallback are both used), some up to
 * 20,000 and a few up to 300,000, over the malloc mmap threshold the runtimes are given here.
 *
 * After every step: the new block is non-NULL, calloc's bytes are zero, realloc kept the old
 * bytes, and no two live blocks overlap ([p, p + max(size, 1)) intervals; so zero-size blocks are
 * distinct non-NULL pointers). Every block is filled with its own byte and verified before it is
 * freed or resized and at the end. Every 50 steps and at the end the runtime's and each domain's
 * check() pass; then everything is freed, the checks pass again, and the heaps hold what they
 * held right after creation.
 *
 * TSMALLOC_PROPERTY_RUNS=n sets the number of runs per configuration.
 */
import { RegionOwner } from "@tsmalloc/memory";
import { inspectState } from "@tsmalloc/pymalloc";
import { type AllocatorConfig, createRuntime, Domain, DOMAINS, type Runtime } from "@tsmalloc/registry";
import { findMismatch } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CONFIGS, NAME_OF } from "./helpers.ts";

const numRuns = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? 60);
const maxLength = 120;
/** A guard against a hung run, not a time limit on the work. */
const timeout = 300_000;
/** Large enough that pymalloc's raw fallback stays in segments; 300,000 bytes go over it. */
const MMAP_THRESHOLD = 128 * 1024;
const CHECK_EVERY = 50;

type Op =
  | { readonly op: "malloc"; readonly domain: Domain; readonly size: number }
  | { readonly op: "calloc"; readonly domain: Domain; readonly nelem: number; readonly elsize: number }
  | { readonly op: "realloc"; readonly domain: Domain; readonly pick: number; readonly size: number }
  | { readonly op: "realloc0"; readonly domain: Domain; readonly size: number }
  | { readonly op: "free"; readonly domain: Domain; readonly pick: number };

/** Mostly 1..512 (pool sizes), some 0 and 513..600 (raw fallback), some up to 20,000, a few up to 300,000. */
const size = fc.oneof(
  { weight: 60, arbitrary: fc.integer({ min: 1, max: 512 }) },
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 12, arbitrary: fc.integer({ min: 513, max: 600 }) },
  { weight: 8, arbitrary: fc.constantFrom(1, 8, 16, 17, 488, 489, 496, 511, 512, 513) },
  { weight: 8, arbitrary: fc.integer({ min: 601, max: 20_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 20_001, max: 300_000 }) },
);
const domain = fc.constantFrom<Domain>(Domain.RAW, Domain.MEM, Domain.OBJ);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), domain, size }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("calloc" as const),
      domain,
      nelem: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 64 })),
      elsize: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 600 })),
    }),
  },
  { weight: 16, arbitrary: fc.record({ op: fc.constant("realloc" as const), domain, pick: fc.nat(), size }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("realloc0" as const), domain, size }) },
  { weight: 28, arbitrary: fc.record({ op: fc.constant("free" as const), domain, pick: fc.nat() }) },
);


interface Block {
  readonly domain: Domain;
  readonly address: number;
  readonly size: number;
  readonly fill: number;
}

/** The entry points of one domain of a runtime. */
interface Entry {
  malloc(size: number): number;
  calloc(nelem: number, elsize: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
}

function entries(rt: Runtime): Record<Domain, Entry> {
  return {
    raw: { malloc: (n) => rt.rawMalloc(n), calloc: (a, b) => rt.rawCalloc(a, b), realloc: (p, n) => rt.rawRealloc(p, n), free: (p) => rt.rawFree(p) },
    mem: { malloc: (n) => rt.memMalloc(n), calloc: (a, b) => rt.memCalloc(a, b), realloc: (p, n) => rt.memRealloc(p, n), free: (p) => rt.memFree(p) },
    obj: { malloc: (n) => rt.objMalloc(n), calloc: (a, b) => rt.objCalloc(a, b), realloc: (p, n) => rt.objRealloc(p, n), free: (p) => rt.objFree(p) },
  };
}

function hex(p: number): string {
  return `0x${p.toString(16)}`;
}

/** Where the blocks of each configuration landed, over all runs: pool, malloc segment, mmap. */
const landed = new Map<AllocatorConfig, { pool: number; segment: number; mmap: number; zero: number; operations: number }>();

function makeRuntime(config: AllocatorConfig): Runtime {
  return createRuntime({ allocator: config, malloc: { mmapThreshold: MMAP_THRESHOLD } });
}

/** Expects the runtime's check and every domain allocator's check to pass. */
function expectChecksOk(rt: Runtime, when: string): void {
  const check = rt.check();
  if (!check.ok) throw new Error(`runtime.check() ${when}: ${JSON.stringify(check.problems.slice(0, 5))}`);
  for (const d of DOMAINS) {
    const domainCheck = rt.getAllocator(d).check?.();
    if (domainCheck === undefined) throw new Error(`the ${d} allocator has no check()`);
    if (!domainCheck.ok) throw new Error(`getAllocator(${d}).check() ${when}: ${JSON.stringify(domainCheck.problems.slice(0, 5))}`);
  }
}

/** Runs `ops` on a new runtime of `config`, checking every guarantee; frees everything at the end. */
function run(config: AllocatorConfig, ops: readonly Op[]): void {
  const rt = makeRuntime(config);
  const { memory } = rt;
  const pymalloc = rt.pymallocHeap;
  const use = entries(rt);
  const stats = landed.get(config) ?? { pool: 0, segment: 0, mmap: 0, zero: 0, operations: 0 };
  landed.set(config, stats);

  const baseBlocks = pymalloc?.allocatedBlocks() ?? 0;
  const baseArenasVector = pymalloc === null ? false : inspectState(pymalloc).maxarenas > 0;
  const baseMalloc = rt.mallocHeap.stats().allocatedBlocks;

  const live = new Map<number, Block>();
  /** Live addresses of each domain, for picking. */
  const byDomain: Record<Domain, number[]> = { raw: [], mem: [], obj: [] };
  let nextFill = 0;

  const verify = (b: Block, n: number, why: string): void => {
    const at = findMismatch(memory.u8, b.address, n, b.fill);
    if (at >= 0) throw new Error(`${b.domain} block ${hex(b.address)} (${b.size} bytes, fill ${b.fill}) is ${memory.u8[at]} at +${at - b.address} ${why}`);
  };

  /** Records a new block after checking it against every live one, and fills it. */
  const created = (d: Domain, p: number, n: number, what: string): void => {
    if (p === 0) throw new Error(`${what} in ${d} returned NULL on a growable memory`);
    const end = p + Math.max(n, 1);
    for (const b of live.values()) {
      if (p < b.address + Math.max(b.size, 1) && b.address < end) {
        throw new Error(`${what} in ${d} gave ${hex(p)} (${n} bytes), which overlaps live ${b.domain} block ${hex(b.address)} (${b.size} bytes)`);
      }
    }
    const fill = (nextFill++ % 255) + 1;
    memory.u8.fill(fill, p, p + n);
    const block: Block = { domain: d, address: p, size: n, fill };
    live.set(p, block);
    byDomain[d].push(p);
    if (n === 0) stats.zero++;
    else if (pymalloc?.owns(p) === true) stats.pool++;
    else if (memory.pageOwner(p) === RegionOwner.MallocLarge) stats.mmap++;
    else stats.segment++;
  };
  /** Removes and returns the `pick`-th live block of `d`, or undefined when it has none. */
  const take = (d: Domain, pick: number): Block | undefined => {
    const list = byDomain[d];
    if (list.length === 0) return undefined;
    const at = pick % list.length;
    const p = list[at]!;
    list[at] = list[list.length - 1]!;
    list.pop();
    const b = live.get(p)!;
    live.delete(p);
    return b;
  };

  ops.forEach((step, i) => {
    stats.operations++;
    const entry = use[step.domain];
    switch (step.op) {
      case "malloc":
        created(step.domain, entry.malloc(step.size), step.size, `malloc(${step.size})`);
        break;
      case "calloc": {
        const n = step.nelem * step.elsize;
        const p = entry.calloc(step.nelem, step.elsize);
        if (p !== 0) {
          const at = findMismatch(memory.u8, p, n, 0);
          if (at >= 0) throw new Error(`calloc(${step.nelem}, ${step.elsize}) in ${step.domain}: byte +${at - p} of ${hex(p)} is ${memory.u8[at]}, not 0`);
        }
        created(step.domain, p, n, `calloc(${step.nelem}, ${step.elsize})`);
        break;
      }
      case "realloc0":
        created(step.domain, entry.realloc(0, step.size), step.size, `realloc(0, ${step.size})`);
        break;
      case "realloc": {
        const b = take(step.domain, step.pick);
        if (b === undefined) {
          created(step.domain, entry.realloc(0, step.size), step.size, `realloc(0, ${step.size})`);
          break;
        }
        verify(b, b.size, "before realloc");
        const q = entry.realloc(b.address, step.size);
        const what = `realloc(${hex(b.address)}, ${step.size}) of a ${b.size}-byte block`;
        if (q === 0) throw new Error(`${what} in ${b.domain} returned NULL on a growable memory`);
        verify({ ...b, address: q }, Math.min(b.size, step.size), `after ${what} (moved to ${hex(q)})`);
        created(step.domain, q, step.size, what);
        break;
      }
      case "free": {
        const b = take(step.domain, step.pick);
        if (b === undefined) break;
        verify(b, b.size, "before free");
        entry.free(b.address);
        break;
      }
    }
    if (i % CHECK_EVERY === CHECK_EVERY - 1) expectChecksOk(rt, `after step ${i + 1}`);
  });

  for (const b of live.values()) verify(b, b.size, "at the end");
  expectChecksOk(rt, "at the end");
  if (rt.allocatorName() !== NAME_OF[config]) throw new Error(`allocatorName() is ${rt.allocatorName()} after the operations`);
  for (const b of live.values()) use[b.domain].free(b.address);
  expectChecksOk(rt, "after freeing everything");

  if (pymalloc !== null) {
    const blocks = pymalloc.allocatedBlocks();
    if (blocks !== baseBlocks) throw new Error(`pymalloc holds ${blocks} blocks after freeing everything, ${baseBlocks} right after creation`);
    if (pymalloc.stats().rawAllocatedBlocks !== 0) throw new Error(`pymalloc holds ${pymalloc.stats().rawAllocatedBlocks} raw blocks after freeing everything`);
  }
  // the system malloc holds what it held at creation, plus pymalloc's arenas vector once it has one
  const arenasVector = pymalloc === null ? false : inspectState(pymalloc).maxarenas > 0;
  const expectedMalloc = baseMalloc + (arenasVector && !baseArenasVector ? 1 : 0);
  const mallocBlocks = rt.mallocHeap.stats().allocatedBlocks;
  if (mallocBlocks !== expectedMalloc) throw new Error(`malloc holds ${mallocBlocks} blocks after freeing everything, expected ${expectedMalloc}`);
}

describe.each(CONFIGS)("random sequences in all three domains, allocator %s", (config) => {
  it("keep every block intact, disjoint and non-NULL, and the heaps valid and back to where they started", { timeout }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 10, maxLength, size: "max" }), (ops) => {
        run(config, ops);
      }),
      { numRuns },
    );
    // the sequences reached pymalloc's pools (in the pymalloc configurations), malloc's segments
    // and its mmap'd large blocks, and made zero-size blocks
    const seen = landed.get(config)!;
    expect(seen.operations).toBeGreaterThanOrEqual(numRuns * 10);
    if (config === "malloc" || config === "malloc_debug") expect(seen.pool).toBe(0);
    else expect(seen.pool).toBeGreaterThan(numRuns);
    expect(seen.segment).toBeGreaterThan(numRuns);
    expect(seen.mmap).toBeGreaterThan(0);
    expect(seen.zero).toBeGreaterThan(0);
  });

  it(`leave allocatorName() ${NAME_OF[config]} whatever they do`, { timeout }, () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60 }), (ops) => {
        const rt = makeRuntime(config);
        const use = entries(rt);
        const before = rt.allocatorName();
        const held: [Domain, number][] = [];
        for (const step of ops) {
          const entry = use[step.domain];
          switch (step.op) {
            case "malloc":
              held.push([step.domain, entry.malloc(step.size)]);
              break;
            case "calloc":
              held.push([step.domain, entry.calloc(step.nelem, step.elsize)]);
              break;
            case "realloc0":
              held.push([step.domain, entry.realloc(0, step.size)]);
              break;
            case "realloc":
            case "free": {
              const mine = held.filter(([d]) => d === step.domain);
              if (mine.length === 0) break;
              const victim = mine[step.pick % mine.length]!;
              held.splice(held.indexOf(victim), 1);
              if (step.op === "free") entry.free(victim[1]);
              else held.push([step.domain, entry.realloc(victim[1], step.size)]);
              break;
            }
          }
          expect(rt.allocatorName()).toBe(before);
        }
        for (const [d, p] of held) use[d].free(p);
        expect(rt.allocatorName()).toBe(before);
        expect(before).toBe(NAME_OF[config]);
      }),
      { numRuns: Math.max(1, Math.ceil(numRuns / 3)) },
    );
  });
});
