/*
 * Property test of the tracer against a simple model of the live traces. Random sequences of
 * malloc / calloc / realloc / free in all three domains, trackExternal / untrackExternal in other
 * trace domains, clearTraces, resetPeak and stop-then-start, on runtimes of several
 * configurations (with debug hooks or not) over a small memory, so that large requests fail.
 *
 * The model: the blocks alive (their domain, so that they are freed where they were made), and
 * the traces (trace domain, address) -> (size, the line that allocated it), the traced memory and
 * its peak, following CPython's rules: a NULL result records nothing, a failed realloc keeps the
 * old trace, realloc moves it, free drops it, clear_traces and stop forget everything, reset_peak
 * sets the peak to the current size. After every step getTracedMemory() is the model's; every
 * few steps and at the end a snapshot holds exactly the model's traces (domain, size, line) and
 * getObjectTraceback finds exactly the traced blocks; at the end every block is freed and the
 * runtime's heaps check out.
 *
 * TSMALLOC_PROPERTY_RUNS=n sets the number of runs.
 */
import { LinearMemory } from "@tsmalloc/memory";
import { createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import { createTracemalloc, type Tracemalloc } from "@tsmalloc/tracemalloc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { here } from "./helpers.ts";

const numRuns = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? 40);
const CHECK_EVERY = 10;
/** The memory's size: requests of more fail with NULL. */
const MEMORY_BYTES = 8 << 20;

type Op =
  | { readonly op: "malloc"; readonly domain: Domain; readonly size: number }
  | { readonly op: "calloc"; readonly domain: Domain; readonly nelem: number; readonly elsize: number }
  | { readonly op: "realloc"; readonly pick: number; readonly size: number }
  | { readonly op: "free"; readonly pick: number }
  | { readonly op: "track"; readonly domain: number; readonly slot: number; readonly size: number }
  | { readonly op: "untrack"; readonly domain: number; readonly slot: number }
  | { readonly op: "clear" | "resetPeak" | "restart" | "check" };

const size = fc.oneof(
  { weight: 70, arbitrary: fc.integer({ min: 0, max: 512 }) },
  { weight: 20, arbitrary: fc.integer({ min: 513, max: 20_000 }) },
  { weight: 3, arbitrary: fc.constant(MEMORY_BYTES * 2) },
);
const domain = fc.constantFrom<Domain>(Domain.RAW, Domain.MEM, Domain.OBJ);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: fc.record({ op: fc.constant("malloc" as const), domain, size }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant("calloc" as const), domain, nelem: fc.integer({ min: 0, max: 40 }), elsize: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 12, arbitrary: fc.record({ op: fc.constant("realloc" as const), pick: fc.nat(), size }) },
  { weight: 20, arbitrary: fc.record({ op: fc.constant("free" as const), pick: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant("track" as const), domain: fc.integer({ min: 1, max: 3 }), slot: fc.integer({ min: 1, max: 8 }), size: fc.nat(1 << 20) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("untrack" as const), domain: fc.integer({ min: 1, max: 3 }), slot: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.constantFrom({ op: "clear" as const }, { op: "resetPeak" as const }, { op: "restart" as const }) },
  { weight: 3, arbitrary: fc.constant({ op: "check" as const }) },
);

interface ModelTrace {
  readonly size: number;
  /** The line that allocated it; 0 for tracked blocks (the line of the track call is checked too). */
  readonly line: number;
}

/** The model: traces by trace domain and address, the traced memory and its peak. */
class Model {
  tracing = true;
  readonly traces = new Map<number, Map<number, ModelTrace>>();
  traced = 0;
  peak = 0;

  add(domain: number, address: number, trace: ModelTrace): void {
    if (!this.tracing) return;
    let table = this.traces.get(domain);
    if (table === undefined) this.traces.set(domain, (table = new Map()));
    this.traced += trace.size - (table.get(address)?.size ?? 0);
    table.set(address, trace);
    this.peak = Math.max(this.peak, this.traced);
  }

  remove(domain: number, address: number): void {
    const table = this.traces.get(domain);
    const trace = table?.get(address);
    if (trace === undefined) return;
    table!.delete(address);
    this.traced -= trace.size;
  }

  clear(): void {
    this.traces.clear();
    this.traced = 0;
    this.peak = 0;
  }
}

/** The entry point of `domain` for each operation, each on a line of its own (the lines are checked). */
function mallocIn(runtime: Runtime, d: Domain, n: number): [number, number] {
  if (d === Domain.RAW) return [runtime.rawMalloc(n), here().lineno];
  if (d === Domain.MEM) return [runtime.memMalloc(n), here().lineno];
  return [runtime.objMalloc(n), here().lineno];
}

function callocIn(runtime: Runtime, d: Domain, nelem: number, elsize: number): [number, number] {
  if (d === Domain.RAW) return [runtime.rawCalloc(nelem, elsize), here().lineno];
  if (d === Domain.MEM) return [runtime.memCalloc(nelem, elsize), here().lineno];
  return [runtime.objCalloc(nelem, elsize), here().lineno];
}

function reallocIn(runtime: Runtime, d: Domain, p: number, n: number): [number, number] {
  if (d === Domain.RAW) return [runtime.rawRealloc(p, n), here().lineno];
  if (d === Domain.MEM) return [runtime.memRealloc(p, n), here().lineno];
  return [runtime.objRealloc(p, n), here().lineno];
}

function freeIn(runtime: Runtime, d: Domain, p: number): void {
  if (d === Domain.RAW) runtime.rawFree(p);
  else if (d === Domain.MEM) runtime.memFree(p);
  else runtime.objFree(p);
}

/** The snapshot's traces and the model's, as sorted "domain size line" strings; lookups agree. */
function checkTraces(tracer: Tracemalloc, model: Model, live: ReadonlyMap<number, Domain>): void {
  if (!model.tracing) {
    expect(tracer.isTracing()).toBe(false);
    return;
  }
  const actual = tracer
    .takeSnapshot()
    .traces.map((t) => `${t.domain} ${t.size} ${t.domain === 0 ? t.traceback.at(-1)!.lineno : 0}`)
    .sort();
  const expected: string[] = [];
  for (const [domain, table] of model.traces) for (const trace of table.values()) expected.push(`${domain} ${trace.size} ${trace.line}`);
  expect(actual).toEqual(expected.sort());
  const traced = model.traces.get(0) ?? new Map<number, ModelTrace>();
  for (const address of live.keys()) expect(tracer.getObjectTraceback(address) !== null).toBe(traced.has(address));
}

describe("the tracer against a model of the live traces", () => {
  it.each(["default", "debug", "malloc", "pymalloc_debug"])("%s", (allocator) => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (nframe, ops) => {
        const runtime = createRuntime({ allocator, memory: new LinearMemory({ maximum: MEMORY_BYTES }) });
        const tracer = createTracemalloc(runtime);
        tracer.start(nframe);
        const model = new Model();
        const live = new Map<number, Domain>();
        const pick = (n: number): [number, Domain] | undefined => {
          if (live.size === 0) return undefined;
          return [...live][n % live.size];
        };
        try {
          ops.forEach((step, i) => {
            switch (step.op) {
              case "malloc":
              case "calloc": {
                const [p, line] = step.op === "malloc" ? mallocIn(runtime, step.domain, step.size) : callocIn(runtime, step.domain, step.nelem, step.elsize);
                const requested = step.op === "malloc" ? step.size : step.nelem * step.elsize;
                if (p === 0) {
                  expect(requested).toBeGreaterThan(MEMORY_BYTES / 2);
                  break;
                }
                live.set(p, step.domain);
                model.add(0, p, { size: requested, line });
                break;
              }
              case "realloc": {
                const block = pick(step.pick);
                if (block === undefined) break;
                const [p, d] = block;
                const [q, line] = reallocIn(runtime, d, p, step.size);
                if (q === 0) break; // the old block and its trace stay
                live.delete(p);
                live.set(q, d);
                model.remove(0, p);
                model.add(0, q, { size: step.size, line });
                break;
              }
              case "free": {
                const block = pick(step.pick);
                if (block === undefined) break;
                freeIn(runtime, block[1], block[0]);
                live.delete(block[0]);
                model.remove(0, block[0]);
                break;
              }
              case "track": {
                const address = step.slot * 0x1000;
                expect(tracer.trackExternal(step.domain, address, step.size)).toBe(model.tracing);
                model.add(step.domain, address, { size: step.size, line: 0 });
                break;
              }
              case "untrack":
                expect(tracer.untrackExternal(step.domain, step.slot * 0x1000)).toBe(model.tracing);
                model.remove(step.domain, step.slot * 0x1000);
                break;
              case "clear":
                tracer.clearTraces();
                if (model.tracing) model.clear();
                break;
              case "resetPeak":
                tracer.resetPeak();
                model.peak = model.traced;
                break;
              case "restart":
                if (model.tracing) {
                  tracer.stop();
                  model.clear();
                  model.tracing = false;
                } else {
                  tracer.start(nframe);
                  model.tracing = true;
                }
                break;
              case "check":
                checkTraces(tracer, model, live);
                break;
            }
            expect(tracer.getTracedMemory()).toEqual(model.tracing ? [model.traced, model.peak] : [0, 0]);
            if (i % CHECK_EVERY === 0) checkTraces(tracer, model, live);
          });
          checkTraces(tracer, model, live);
          for (const [p, d] of live) {
            freeIn(runtime, d, p);
            model.remove(0, p);
          }
          expect(tracer.getTracedMemory()[0]).toBe(model.tracing ? model.traced : 0);
          expect(runtime.check()).toEqual({ ok: true, problems: [] });
        } finally {
          tracer.stop();
        }
      }),
      { numRuns },
    );
  }, 300_000);
});
