/*
 * ReplaySession (src/replay-session.ts) against a reference replay written in helpers.ts (a
 * fresh runtime driven by a plain loop over the events): in every configuration, after seeks
 * forward and back, after many small advance() calls and after a seek spread over calls, the
 * session's heaps (statistics, malloc's figures, check(), every block's address, the footprint,
 * every byte of the memory) are the reference's; the footprint samples are the reference's at
 * each sample point; a random mix of seek / advance / reset ends where a fresh replay to the
 * same cursor does (fast-check; TSMALLOC_PROPERTY_RUNS=n sets the runs). Also: argument checks
 * that change nothing, version and generation, NULL results, nextRelease and requestedSize.
 */
import { ALLOCATOR_CONFIGS, type AllocatorConfig } from "@tsmalloc/registry";
import { prng, type Trace } from "@tsmalloc/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ReplaySession } from "../src/replay-session.ts";
import { TraceSeries } from "../src/trace-series.ts";
import { compileallPrefix, expectSameState, firstDifference, propertyRuns, Reference, referenceAt, releasedBy, thrown, traceOf } from "./helpers.ts";

const EVENTS = 30_000;

describe.each(ALLOCATOR_CONFIGS)("%s: the session is a replay by hand", (config) => {
  it("after seeks forward, small advance() steps, a spread seek and a seek back", () => {
    const trace = compileallPrefix(EVENTS);
    const session = new ReplaySession(trace, config);
    const stepper = new ReplaySession(trace, config);
    expect(session.series.stride).toBe(15);
    const reference = new Reference(trace, config);
    // the reference's footprint at every sample point, to hold the session's samples against
    const samples = new Map<number, number>([[0, reference.footprint()]]);
    const sample = (cursor: number): void => {
      if (cursor % session.series.stride === 0 || cursor === trace.length) samples.set(cursor, reference.footprint());
    };
    const random = prng(0x5eed);
    for (const point of [0, 1, 2047, 7_777, 15_000, EVENTS]) {
      reference.advanceTo(point, sample);
      expect(session.seek(point)).toBe(true);
      expectSameState(session, reference, `seek(${point})`);
      // the same point by advance() calls of 1..64 events (half of them single events)
      while (stepper.cursor < point) {
        const n = random() < 0.5 ? 1 : 1 + Math.floor(random() * 64);
        const applied = stepper.advance(Math.min(n, point - stepper.cursor));
        expect(applied).toBe(Math.min(n, point - (stepper.cursor - applied)));
      }
      expectSameState(stepper, reference, `advance() to ${point}`);
    }
    expect(session.atEnd).toBe(true);
    expect(session.generation).toBe(0);
    // every sample was read where the reference read it
    const { series } = session;
    for (let k = 0; k <= series.samples; k++) expect(series.footprint[k], `sample ${k}`).toBe(samples.get(series.eventOf(k)));
    expect(series.maxFootprint()).toBe(Math.max(...samples.values()));
    // the small steps stopped at every sample point too
    for (let k = 0; k <= series.samples; k++) expect(stepper.series.footprint[k], `stepper sample ${k}`).toBe(samples.get(series.eventOf(k)));

    // back: a fresh runtime replayed forward
    expect(session.seek(9_000)).toBe(true);
    expect(session.generation).toBe(1);
    const back = referenceAt(trace, config, 9_000);
    expectSameState(session, back, "seek back to 9000");
    // a seek spread over calls of at most 1,000 events each, back and forth
    let calls = 0;
    while (!stepper.seek(9_000, 1_000)) calls++;
    expect(calls).toBe(8); // a reset and 9 calls of 1,000, the last one returning true
    expectSameState(stepper, back, "seek(9000, 1000) repeated");
    // the samples were kept across the resets
    for (let k = 0; k <= series.samples; k++) expect(series.footprint[k], `sample ${k} after the seeks back`).toBe(samples.get(series.eventOf(k)));
  });
});

describe("argument checks change nothing", () => {
  const trace = compileallPrefix(EVENTS);

  it.each([-1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, -0.5])("advance(%d) is a RangeError", (bad) => {
    const session = new ReplaySession(trace, "pymalloc_debug");
    session.seek(1_234);
    const { version, generation } = session;
    const before = session.runtime.memory.u8.slice();
    const error = thrown(() => session.advance(bad));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/^advance: maxEvents must be a non-negative integer/);
    expect([session.cursor, session.version, session.generation]).toEqual([1_234, version, generation]);
    expect(firstDifference(session.runtime.memory.u8, before)).toBe(-1);
  });

  it.each([-1, EVENTS + 1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("seek(%d) is a RangeError", (bad) => {
    const session = new ReplaySession(trace, "default");
    session.seek(2_000);
    const { version, generation } = session;
    const runtime = session.runtime;
    const before = runtime.memory.u8.slice();
    const error = thrown(() => session.seek(bad));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toBe(`seek: events must be an integer in [0, ${EVENTS}], got ${bad}`);
    expect([session.cursor, session.version, session.generation]).toEqual([2_000, version, generation]);
    expect(session.runtime).toBe(runtime);
    expect(firstDifference(runtime.memory.u8, before)).toBe(-1);
  });

  it.each([-1, 1.5, Number.NaN])("seek back with maxEvents %d is a RangeError before the reset", (bad) => {
    const session = new ReplaySession(trace, "default");
    session.seek(2_000);
    const { version, generation } = session;
    const runtime = session.runtime;
    expect(() => session.seek(1_000, bad)).toThrow(RangeError);
    expect([session.cursor, session.version, session.generation]).toEqual([2_000, version, generation]);
    expect(session.runtime).toBe(runtime);
  });

  it("advance(Infinity) goes to the end; advance at the end applies nothing", () => {
    const session = new ReplaySession(trace, "malloc");
    expect(session.advance(Number.POSITIVE_INFINITY)).toBe(EVENTS);
    expect(session.atEnd).toBe(true);
    const version = session.version;
    expect(session.advance(5)).toBe(0);
    expect(session.advance(Number.POSITIVE_INFINITY)).toBe(0);
    expect(session.version).toBe(version);
  });

  it("seek(cursor, 0) is done; seek(other, 0) is not", () => {
    const session = new ReplaySession(trace, "pymalloc");
    session.seek(500);
    expect(session.seek(500, 0)).toBe(true);
    expect(session.seek(600, 0)).toBe(false);
    expect(session.cursor).toBe(500);
    expect(session.seek(600, 60)).toBe(false);
    expect(session.seek(600, 60)).toBe(true);
    expect(session.cursor).toBe(600);
  });
});

describe("version and generation", () => {
  it("version moves on every change and only then; generation on every reset", () => {
    const trace = compileallPrefix(EVENTS);
    const session = new ReplaySession(trace, "debug");
    expect([session.version, session.generation, session.cursor]).toEqual([0, 0, 0]);
    let version = session.version;
    const moved = (): boolean => {
      const changed = session.version !== version;
      expect(session.version).toBeGreaterThanOrEqual(version);
      version = session.version;
      return changed;
    };
    session.advance(0);
    expect(moved()).toBe(false);
    session.advance(1);
    expect(moved()).toBe(true);
    session.seek(1);
    expect(moved()).toBe(false);
    session.seek(100);
    expect(moved()).toBe(true);
    expect(session.generation).toBe(0);
    session.seek(99);
    expect(moved()).toBe(true);
    expect(session.generation).toBe(1);
    const runtime = session.runtime;
    session.reset();
    expect(moved()).toBe(true);
    expect(session.generation).toBe(2);
    expect(session.cursor).toBe(0);
    expect(session.runtime).not.toBe(runtime);
    // a reset at 0 is still a reset: a fresh runtime
    session.reset();
    expect(moved()).toBe(true);
    expect(session.generation).toBe(3);
    session.seek(0);
    expect(moved()).toBe(false);
    expect(session.generation).toBe(3);
  });

  it("a session given another's series starts its footprint samples over", () => {
    const trace = compileallPrefix(EVENTS);
    const first = new ReplaySession(trace, "malloc");
    first.seek(EVENTS);
    expect(Number.isNaN(first.series.footprint[first.series.samples]!)).toBe(false);
    const second = new ReplaySession(trace, "pymalloc", first.series);
    expect(second.series).toBe(first.series);
    const { footprint } = second.series;
    expect(footprint[0]).toBe(second.footprint());
    expect(footprint[0]).toBe(new Reference(trace, "pymalloc").footprint());
    expect(Array.from(footprint.subarray(1)).every(Number.isNaN)).toBe(true);
  });

  it("a new session makes its own series of the trace", () => {
    const trace = compileallPrefix(EVENTS);
    const session = new ReplaySession(trace, "default");
    expect(session.series).toBeInstanceOf(TraceSeries);
    expect(session.series.length).toBe(EVENTS);
    expect(session.length).toBe(EVENTS);
    expect(session.trace).toBe(trace);
    expect(session.config).toBe("default");
  });

  it("an unknown configuration name is refused", () => {
    expect(() => new ReplaySession(compileallPrefix(EVENTS), "mimalloc" as AllocatorConfig)).toThrow(/mimalloc/);
  });
});

describe("requests that return NULL", () => {
  // a 0 over PY_SSIZE_T_MAX: NULL; m 1 with a 64-byte alignment: NULL; m 2 with 16: a malloc;
  // r 0 -> 3 of a NULL block: a malloc; c 4 whose product is too large: NULL; f 1 of a NULL block: nothing
  const trace = traceOf(["a 0 3000000000", "m 1 64 100", "m 2 16 100", "r 0 3 50", "c 4 100000 100000", "f 1", "a 5 24", "f 2", "r 3 6 70"]);

  it.each(ALLOCATOR_CONFIGS)("%s: counted as failures, their blocks not live, as in the replay by hand", (config) => {
    const session = new ReplaySession(trace, config);
    for (let k = 1; k <= trace.length; k++) {
      session.advance(1);
      expectSameState(session, referenceAt(trace, config, k), config);
    }
    expect(session.failures).toBe(3);
    expect(session.addressOf(0)).toBe(0);
    expect(session.addressOf(1)).toBe(0);
    expect(session.addressOf(4)).toBe(0);
    expect(session.addressOf(6)).not.toBe(0);
    expect(session.addressOf(6) % 16).toBe(0);
    // the live bytes the page shows leave the refused blocks out (issue 16): 24 + 70 at the end
    const reference = referenceAt(trace, config, trace.length);
    const held = Array.from(reference.size).reduce((sum, n) => sum + n, 0);
    expect(held).toBe(24 + 70);
    expect(session.series.liveBytes[session.cursor]).toBe(held);
    expect(session.series.failures).toBe(3);
    session.seek(3);
    expect(session.failures).toBe(2);
    session.reset();
    expect(session.failures).toBe(0);
  });

  it("addressOf is 0 for anything that is not a block id", () => {
    const session = new ReplaySession(trace, "default");
    session.seek(trace.length);
    for (const bad of [-1, 1.5, Number.NaN, trace.ids, 2 ** 40, Number.POSITIVE_INFINITY]) expect(session.addressOf(bad)).toBe(0);
    expect(session.addressOf(5)).not.toBe(0);
  });
});

describe("nextRelease and requestedSize", () => {
  const trace = compileallPrefix(EVENTS);

  /** The first f / r after the reference's cursor whose block the reference holds (events numbered from 1). */
  function expectedRelease(reference: Reference): { id: number; event: number } | null {
    for (let index = reference.cursor; index < trace.length; index++) {
      const id = releasedBy(trace, index);
      if (id >= 0 && reference.address[id] !== 0) return { id, event: index + 1 };
    }
    return null;
  }

  it("match a scan of the events and the sizes the reference asked for", () => {
    const session = new ReplaySession(trace, "debug");
    const reference = new Reference(trace, "debug");
    let callocs = 0;
    let reallocs = 0;
    let checked = new Float64Array(0);
    for (const point of [0, 1, 2, 3, 500, 4_321, 12_000, 29_990, EVENTS]) {
      reference.advanceTo(point);
      session.seek(point);
      expect(session.nextRelease(), `after ${point} events`).toEqual(expectedRelease(reference));
      // (requestedSize scans back from the cursor: the sizes are checked at the earlier points only, to keep the test fast)
      if (point > 12_000) continue;
      if (point === 12_000) checked = reference.address.slice();
      for (let id = 0; id < trace.ids; id++) {
        const want = reference.address[id] === 0 ? 0 : reference.size[id]!;
        if (session.requestedSize(id) !== want) expect.fail(`after ${point} events, requestedSize(${id}) = ${session.requestedSize(id)}, want ${want}`);
      }
    }
    // the sizes checked include blocks made by calloc and by realloc
    for (let event = 0; event < 12_000; event++) {
      if (trace.op[event] === 1 && checked[trace.id[event]!] !== 0) callocs++;
      if (trace.op[event] === 2 && checked[trace.id[event]!] !== 0) reallocs++;
    }
    expect(callocs).toBeGreaterThan(0);
    expect(reallocs).toBeGreaterThan(0);
    expect(session.nextRelease()).toBeNull();
  });

  it("requestedSize of a calloc block is NMEMB × SIZE; 0 for ids that are not live", () => {
    const small = traceOf(["c 0 3 40", "a 1 7", "f 1", "c 2 0 5", "r 0 3 9"]);
    const session = new ReplaySession(small, "malloc_debug");
    session.seek(2);
    expect(session.requestedSize(0)).toBe(120);
    expect(session.requestedSize(1)).toBe(7);
    session.seek(4);
    expect(session.requestedSize(1)).toBe(0);
    expect(session.requestedSize(2)).toBe(0); // calloc(0, 5)
    expect(session.addressOf(2)).not.toBe(0);
    expect(session.nextRelease()).toEqual({ id: 0, event: 5 });
    session.seek(5);
    expect([session.requestedSize(0), session.requestedSize(3)]).toEqual([0, 9]);
    for (const bad of [-1, 1.5, Number.NaN, 99]) expect(session.requestedSize(bad)).toBe(0);
    expect(session.nextRelease()).toBeNull();
  });

  it("nextRelease skips a block whose request returned NULL", () => {
    const small = traceOf(["a 0 3000000000", "a 1 8", "f 0", "f 1"]);
    const session = new ReplaySession(small, "debug");
    session.seek(2);
    expect(session.nextRelease()).toEqual({ id: 1, event: 4 });
  });
});

describe("seek, advance and reset in any order end where a fresh replay does", () => {
  const trace: Trace = compileallPrefix(6_000);
  type Op = { readonly op: "seek"; readonly to: number; readonly max: number } | { readonly op: "advance"; readonly n: number } | { readonly op: "reset" };
  const ops = fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant("seek" as const), to: fc.integer({ min: 0, max: trace.length }), max: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 0, max: 3_000 })) }) },
      { weight: 4, arbitrary: fc.record({ op: fc.constant("advance" as const), n: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 7_000 }), fc.constant(Number.POSITIVE_INFINITY)) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant("reset" as const) }) },
    ),
    { maxLength: 8 },
  );

  it("property", () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALLOCATOR_CONFIGS), ops, (config, list: readonly Op[]) => {
        const session = new ReplaySession(trace, config);
        let cursor = 0;
        let generation = 0;
        for (const op of list) {
          const version = session.version;
          let changed: boolean;
          if (op.op === "seek") {
            const back = op.to < cursor;
            const done = session.seek(op.to, op.max);
            if (back) {
              generation++;
              cursor = 0;
            }
            const next = Math.min(op.to, cursor + op.max);
            changed = back || next !== cursor;
            cursor = next;
            expect(done).toBe(cursor === op.to);
          } else if (op.op === "advance") {
            const next = Math.min(trace.length, cursor + op.n);
            expect(session.advance(op.n)).toBe(next - cursor);
            changed = next !== cursor;
            cursor = next;
          } else {
            session.reset();
            generation++;
            cursor = 0;
            changed = true;
          }
          expect(session.cursor).toBe(cursor);
          expect(session.generation).toBe(generation);
          if (changed) expect(session.version).toBeGreaterThan(version);
          else expect(session.version).toBe(version);
          expect(session.fault).toBeNull();
        }
        expectSameState(session, referenceAt(trace, config, session.cursor), config);
      }),
      { numRuns: propertyRuns(40) },
    );
  });
});
