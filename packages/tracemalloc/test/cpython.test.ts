/*
 * CPython's Lib/test/test_tracemalloc.py, adapted: the same scenarios, with exact figures where
 * CPython must tolerate its interpreter's own allocations (a runtime here allocates nothing that
 * the test does not ask for), and tracebacks of JavaScript lines. TestCommandLine is in
 * environment.test.ts (child processes), the filters' fnmatch rules in filters.test.ts.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "@tsmalloc/memory";
import type { Runtime } from "@tsmalloc/registry";
import {
  DomainFilter,
  Filter,
  Frame,
  Snapshot,
  Statistic,
  StatisticDiff,
  Trace,
  Traceback,
} from "@tsmalloc/tracemalloc";
import { afterAll, describe, expect, it } from "vitest";
import { expectError, here, recentFirst, stackHere, traceback1, traced } from "./helpers.ts";

/** CPython's allocate_bytes: a block of `size` bytes, and the traceback it must have. */
function allocateBytes(runtime: Runtime, size: number): [number, string[]] {
  return [runtime.memMalloc(size), stackHere()];
}

describe("TestTracemallocEnabled", () => {
  it("test_get_tracemalloc_memory: the tracer's own memory grows with traces and shrinks when they are cleared", () => {
    const { runtime, tracer } = traced(1);
    const empty = tracer.getTracemallocMemory();
    expect(empty).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) allocateBytes(runtime, 123);
    const size = tracer.getTracemallocMemory();
    expect(size).toBeGreaterThan(empty);
    tracer.clearTraces();
    const size2 = tracer.getTracemallocMemory();
    expect(size2).toBeGreaterThanOrEqual(0);
    expect(size2).toBeLessThan(size);
    tracer.stop();
    expect(tracer.getTracemallocMemory()).toBe(0);
  });

  it("test_get_object_traceback: the block's traceback is the line that allocated it", () => {
    const { runtime, tracer } = traced(1);
    tracer.clearTraces();
    const [p, line] = [runtime.memMalloc(12345), here()];
    expect(tracer.getObjectTraceback(p)).toEqual(new Traceback([line]));
    expect(tracer.getObjectTraceback(p)!.equals(new Traceback([line]))).toBe(true);
  });

  it("test_set_traceback_limit: start(-1) is refused; start(10) keeps 10 frames, start(1) one", () => {
    const { runtime, tracer } = traced(1);
    tracer.stop();
    expectError(() => tracer.start(-1), ErrorCode.InvalidOption);
    expect(tracer.isTracing()).toBe(false);

    tracer.stop();
    tracer.start(10);
    const [p2, frames2] = allocateBytes(runtime, 10);
    const traceback2 = tracer.getObjectTraceback(p2)!;
    expect(traceback2.length).toBe(10);
    expect(recentFirst(traceback2)).toEqual(frames2.slice(0, 10));

    tracer.stop();
    tracer.start(1);
    const [p, frames] = allocateBytes(runtime, 10);
    const traceback = tracer.getObjectTraceback(p)!;
    expect(traceback.length).toBe(1);
    expect(recentFirst(traceback)).toEqual(frames.slice(0, 1));
  });

  it("test_get_traces: the snapshot holds the block's trace, with its size and traceback", () => {
    const { runtime, tracer } = traced(1);
    tracer.clearTraces();
    const [, frames] = allocateBytes(runtime, 12345);
    const traces = tracer.takeSnapshot().traces;
    expect(traces.length).toBe(1);
    const trace = traces[0]!;
    expect(trace).toBeInstanceOf(Trace);
    expect(trace.domain).toBe(0);
    expect(trace.size).toBe(12345);
    expect(recentFirst(trace.traceback)).toEqual(frames.slice(0, 1));
    tracer.stop();
    expectError(() => tracer.takeSnapshot(), ErrorCode.NotTracing);
  });

  it("test_get_traces_intern_traceback: two identical tracebacks are one object", () => {
    const { runtime, tracer } = traced(4);
    const allocateBytes2 = (size: number): [number, string[]] => allocateBytes(runtime, size);
    const allocateBytes3 = (size: number): [number, string[]] => allocateBytes2(size);
    const allocateBytes4 = (size: number): [number, string[]] => allocateBytes3(size);
    const [p1, frames1] = allocateBytes4(123);
    const [p2, frames2] = allocateBytes4(123);
    const traces = tracer.takeSnapshot().traces;
    const trace1 = traces.find((t) => t.traceback === tracer.getObjectTraceback(p1))!;
    const trace2 = traces.find((t) => t.traceback === tracer.getObjectTraceback(p2))!;
    expect(recentFirst(trace1.traceback)).toEqual(frames1.slice(0, 4));
    expect(recentFirst(trace2.traceback)).toEqual(frames2.slice(0, 4));
    expect(trace2.traceback).toBe(trace1.traceback);
  });

  it("test_get_traced_memory: exactly the requested bytes, with the peak; clear_traces and stop reset both", () => {
    const { runtime, tracer } = traced(1);
    const objSize = 1024 * 1024;
    tracer.clearTraces();
    const [p] = allocateBytes(runtime, objSize);
    expect(tracer.getTracedMemory()).toEqual([objSize, objSize]);

    runtime.memFree(p);
    expect(tracer.getTracedMemory()).toEqual([0, objSize]);

    tracer.clearTraces();
    expect(tracer.getTracedMemory()).toEqual([0, 0]);

    allocateBytes(runtime, objSize);
    expect(tracer.getTracedMemory()).toEqual([objSize, objSize]);

    tracer.stop();
    expect(tracer.getTracedMemory()).toEqual([0, 0]);
  });

  it("test_clear_traces: a block traced before clear_traces has no traceback after", () => {
    const { runtime, tracer } = traced(1);
    const [p] = allocateBytes(runtime, 123);
    expect(tracer.getObjectTraceback(p)).not.toBeNull();
    tracer.clearTraces();
    expect(tracer.getObjectTraceback(p)).toBeNull();
    // and freeing the forgotten block changes nothing
    runtime.memFree(p);
    expect(tracer.getTracedMemory()).toEqual([0, 0]);
  });

  it("test_reset_peak: the peak falls to the current size, then follows new allocations", () => {
    const { runtime, tracer } = traced(1);
    tracer.clearTraces();
    // a large piece of memory, temporarily
    const blocks: number[] = [];
    for (let i = 0; i < 1000; i++) blocks.push(runtime.memMalloc(100));
    const kept = runtime.objMalloc(50);
    for (const p of blocks) runtime.memFree(p);
    const [size1, peak1] = tracer.getTracedMemory();
    expect([size1, peak1]).toEqual([50, 100_050]);

    tracer.resetPeak();
    const [size2, peak2] = tracer.getTracedMemory();
    expect(peak2).toBe(size2);
    expect(peak2).toBeLessThan(peak1);

    const objSize = 1024 * 1024;
    allocateBytes(runtime, objSize);
    const [size3, peak3] = tracer.getTracedMemory();
    expect(peak3).toBe(size3);
    expect(peak3 - peak2).toBe(objSize);
    runtime.objFree(kept);
  });

  it("test_is_tracing", () => {
    const { tracer } = traced(1);
    tracer.stop();
    expect(tracer.isTracing()).toBe(false);
    tracer.start();
    expect(tracer.isTracing()).toBe(true);
  });

  describe("test_snapshot", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmalloc-tracemalloc-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("writes on disk, loads back equal, and refuses to snapshot when not tracing", () => {
      const { runtime, tracer } = traced(3);
      allocateBytes(runtime, 123);
      runtime.objCalloc(4, 8);
      const snapshot = tracer.takeSnapshot();
      expect(snapshot.tracebackLimit).toBe(3);

      const file = join(dir, "snapshot.json");
      snapshot.dump(file);
      expect(existsSync(file)).toBe(true);
      const snapshot2 = Snapshot.load(file);
      expect(snapshot2.tracebackLimit).toBe(3);
      expect(snapshot2.traces.length).toBe(snapshot.traces.length);
      snapshot2.traces.forEach((trace, i) => expect(trace.equals(snapshot.traces[i])).toBe(true));

      tracer.stop();
      const error = expectError(() => tracer.takeSnapshot(), ErrorCode.NotTracing);
      expect(error.message).toBe("takeSnapshot: tracemalloc must be tracing memory allocations to take a snapshot (call start() first)");
    });
  });
});

/** A trace as CPython's raw trace tuples give it: frames most recent first. */
function raw(domain: number, size: number, ...frames: [string, number][]): Trace {
  return new Trace(domain, size, new Traceback(frames.map(([f, l]) => new Frame(f, l)).reverse()));
}

/** CPython's traceback(*frames): frames most recent first, as in the raw traces. */
function tb(...frames: [string, number][]): Traceback {
  return new Traceback(frames.map(([f, l]) => new Frame(f, l)).reverse());
}

/** CPython's create_snapshots(). */
function createSnapshots(): [Snapshot, Snapshot] {
  const snapshot = new Snapshot(
    [
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(1, 2, ["a.py", 5], ["b.py", 4]),
      raw(2, 66, ["b.py", 1]),
      raw(3, 7, ["<unknown>", 0]),
    ],
    2,
  );
  const snapshot2 = new Snapshot(
    [
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(2, 2, ["a.py", 5], ["b.py", 4]),
      raw(2, 5000, ["a.py", 5], ["b.py", 4]),
      raw(4, 400, ["c.py", 578]),
    ],
    2,
  );
  return [snapshot, snapshot2];
}

function sameTraces(actual: readonly Trace[], expected: readonly Trace[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((trace, i) => expect(trace.equals(expected[i]), `${String(trace)} vs ${String(expected[i])}`).toBe(true));
}

function sameList(actual: readonly (Statistic | StatisticDiff)[], expected: readonly (Statistic | StatisticDiff)[]): void {
  expect(actual.map(String)).toEqual(expected.map(String));
  actual.forEach((stat, i) => expect(stat.equals(expected[i])).toBe(true));
}

describe("TestSnapshot", () => {
  it("test_create_snapshot: from a tracer, the limit and each trace", () => {
    const { runtime, tracer } = traced(5);
    const [, frames] = allocateBytes(runtime, 5);
    const snapshot = tracer.takeSnapshot();
    expect(snapshot.tracebackLimit).toBe(5);
    expect(snapshot.traces.length).toBe(1);
    const trace = snapshot.traces[0]!;
    expect(trace.size).toBe(5);
    expect(trace.traceback.length).toBe(5);
    expect(trace.traceback.at(-1)!.toString()).toBe(frames[0]);
  });

  it("test_filter_traces: exclude a file, include lines, copy without filters", () => {
    const [snapshot] = createSnapshots();
    const filter1 = new Filter(false, "b.py");
    const filter2 = new Filter(true, "a.py", 2);
    const filter3 = new Filter(true, "a.py", 5);
    const original = [...snapshot.traces];

    const snapshot3 = snapshot.filterTraces([filter1]);
    sameTraces(snapshot3.traces, [
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(1, 2, ["a.py", 5], ["b.py", 4]),
      raw(3, 7, ["<unknown>", 0]),
    ]);
    // filterTraces() must not touch the original snapshot
    expect(snapshot.traces).toEqual(original);

    const snapshot4 = snapshot3.filterTraces([filter2, filter3]);
    sameTraces(snapshot4.traces, [
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(1, 2, ["a.py", 5], ["b.py", 4]),
    ]);

    const snapshot5 = snapshot.filterTraces([]);
    expect(snapshot5).not.toBe(snapshot);
    expect(snapshot5.traces).not.toBe(snapshot.traces);
    expect(snapshot5.traces).toEqual(snapshot.traces);
    expect(snapshot5.tracebackLimit).toBe(2);

    expectError(() => snapshot.filterTraces(filter1 as never), ErrorCode.InvalidOption);
  });

  it("test_filter_traces_domain: a Filter with a domain", () => {
    const [snapshot] = createSnapshots();
    const filter1 = new Filter(false, "a.py", null, false, 1);
    const filter2 = new Filter(true, "a.py", null, false, 1);
    const snapshot3 = snapshot.filterTraces([filter1]);
    sameTraces(snapshot3.traces, [
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(2, 66, ["b.py", 1]),
      raw(3, 7, ["<unknown>", 0]),
    ]);
    sameTraces(snapshot.filterTraces([filter2]).traces, [raw(1, 2, ["a.py", 5], ["b.py", 4])]);
  });

  it("test_filter_traces_domain_filter: DomainFilter", () => {
    const [snapshot] = createSnapshots();
    sameTraces(snapshot.filterTraces([new DomainFilter(false, 3)]).traces, [
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(0, 10, ["a.py", 2], ["b.py", 4]),
      raw(1, 2, ["a.py", 5], ["b.py", 4]),
      raw(2, 66, ["b.py", 1]),
    ]);
    sameTraces(snapshot.filterTraces([new DomainFilter(true, 3)]).traces, [raw(3, 7, ["<unknown>", 0])]);
  });

  it("test_snapshot_group_by_line", () => {
    const [snapshot, snapshot2] = createSnapshots();
    const tb0 = traceback1("<unknown>", 0);
    const tbA2 = traceback1("a.py", 2);
    const tbA5 = traceback1("a.py", 5);
    const tbB1 = traceback1("b.py", 1);
    const tbC578 = traceback1("c.py", 578);
    sameList(snapshot.statistics("lineno"), [new Statistic(tbB1, 66, 1), new Statistic(tbA2, 30, 3), new Statistic(tb0, 7, 1), new Statistic(tbA5, 2, 1)]);
    sameList(snapshot2.statistics("lineno"), [new Statistic(tbA5, 5002, 2), new Statistic(tbC578, 400, 1), new Statistic(tbA2, 30, 3)]);
    sameList(snapshot2.compareTo(snapshot, "lineno"), [
      new StatisticDiff(tbA5, 5002, 5000, 2, 1),
      new StatisticDiff(tbC578, 400, 400, 1, 1),
      new StatisticDiff(tbB1, 0, -66, 0, -1),
      new StatisticDiff(tb0, 0, -7, 0, -1),
      new StatisticDiff(tbA2, 30, 0, 3, 0),
    ]);
  });

  it("test_snapshot_group_by_file", () => {
    const [snapshot, snapshot2] = createSnapshots();
    const tb0 = traceback1("<unknown>", 0);
    const tbA = traceback1("a.py", 0);
    const tbB = traceback1("b.py", 0);
    const tbC = traceback1("c.py", 0);
    sameList(snapshot.statistics("filename"), [new Statistic(tbB, 66, 1), new Statistic(tbA, 32, 4), new Statistic(tb0, 7, 1)]);
    sameList(snapshot2.statistics("filename"), [new Statistic(tbA, 5032, 5), new Statistic(tbC, 400, 1)]);
    sameList(snapshot2.compareTo(snapshot, "filename"), [
      new StatisticDiff(tbA, 5032, 5000, 5, 1),
      new StatisticDiff(tbC, 400, 400, 1, 1),
      new StatisticDiff(tbB, 0, -66, 0, -1),
      new StatisticDiff(tb0, 0, -7, 0, -1),
    ]);
  });

  it("test_snapshot_group_by_traceback", () => {
    const [snapshot, snapshot2] = createSnapshots();
    const tb1 = tb(["a.py", 2], ["b.py", 4]);
    const tb2 = tb(["a.py", 5], ["b.py", 4]);
    const tb3 = tb(["b.py", 1]);
    const tb4 = tb(["<unknown>", 0]);
    sameList(snapshot.statistics("traceback"), [new Statistic(tb3, 66, 1), new Statistic(tb1, 30, 3), new Statistic(tb4, 7, 1), new Statistic(tb2, 2, 1)]);
    const tb5 = tb(["c.py", 578]);
    sameList(snapshot2.statistics("traceback"), [new Statistic(tb2, 5002, 2), new Statistic(tb5, 400, 1), new Statistic(tb1, 30, 3)]);
    sameList(snapshot2.compareTo(snapshot, "traceback"), [
      new StatisticDiff(tb2, 5002, 5000, 2, 1),
      new StatisticDiff(tb5, 400, 400, 1, 1),
      new StatisticDiff(tb3, 0, -66, 0, -1),
      new StatisticDiff(tb4, 0, -7, 0, -1),
      new StatisticDiff(tb1, 30, 0, 3, 0),
    ]);
    expectError(() => snapshot.statistics("traceback", true), ErrorCode.InvalidOption);
  });

  it("test_snapshot_group_by_cumulative", () => {
    const [snapshot] = createSnapshots();
    const tb0 = traceback1("<unknown>", 0);
    const tbA = traceback1("a.py", 0);
    const tbB = traceback1("b.py", 0);
    const tbA2 = traceback1("a.py", 2);
    const tbA5 = traceback1("a.py", 5);
    const tbB1 = traceback1("b.py", 1);
    const tbB4 = traceback1("b.py", 4);
    sameList(snapshot.statistics("filename", true), [new Statistic(tbB, 98, 5), new Statistic(tbA, 32, 4), new Statistic(tb0, 7, 1)]);
    sameList(snapshot.statistics("lineno", true), [
      new Statistic(tbB1, 66, 1),
      new Statistic(tbB4, 32, 4),
      new Statistic(tbA2, 30, 3),
      new Statistic(tb0, 7, 1),
      new Statistic(tbA5, 2, 1),
    ]);
  });

  it("test_trace_format", () => {
    const [snapshot] = createSnapshots();
    const trace = snapshot.traces[0]!;
    expect(String(trace)).toBe("b.py:4: 10 B");
    expect(String(trace.traceback)).toBe("b.py:4");
    expect(String(trace.traceback.at(0))).toBe("b.py:4");
  });

  it("test_statistic_format", () => {
    const [snapshot] = createSnapshots();
    expect(String(snapshot.statistics("lineno")[0])).toBe("b.py:1: size=66 B, count=1, average=66 B");
  });

  it("test_statistic_diff_format", () => {
    const [snapshot, snapshot2] = createSnapshots();
    expect(String(snapshot2.compareTo(snapshot, "lineno")[0])).toBe("a.py:5: size=5002 B (+5000 B), count=2 (+1), average=2501 B");
  });

  it("test_slices", () => {
    const [snapshot] = createSnapshots();
    expect(snapshot.traces.slice(0, 2)).toEqual([snapshot.traces[0], snapshot.traces[1]]);
    const traceback = snapshot.traces[0]!.traceback;
    expect(traceback.frames.slice(0, 2)).toEqual([traceback.at(0), traceback.at(1)]);
    expect([...traceback]).toEqual(traceback.frames);
  });

  it("test_format_traceback: limits and order (these files do not exist: no source lines)", () => {
    const [snapshot] = createSnapshots();
    const traceback = snapshot.traces[0]!.traceback;
    expect(traceback.format()).toEqual(['  File "b.py", line 4', '  File "a.py", line 2']);
    expect(traceback.format(1)).toEqual(['  File "a.py", line 2']);
    expect(traceback.format(-1)).toEqual(['  File "b.py", line 4']);
    expect(traceback.format(null, true)).toEqual(['  File "a.py", line 2', '  File "b.py", line 4']);
    expect(traceback.format(1, true)).toEqual(['  File "a.py", line 2']);
    expect(traceback.format(-1, true)).toEqual(['  File "b.py", line 4']);
  });

  it("Traceback.format() adds each frame's source line, stripped, when the file can be read", () => {
    const { runtime, tracer } = traced(1);
    const [p, line] = [runtime.objMalloc(3), here()];
    expect(tracer.getObjectTraceback(p)!.format()).toEqual([
      `  File "${line.filename}", line ${line.lineno}`,
      "    const [p, line] = [runtime.objMalloc(3), here()];",
    ]);
  });
});

describe("TestCAPI: trackExternal / untrackExternal (PyTraceMalloc_Track / Untrack)", () => {
  const domain = 5;
  const size = 123;
  const ptr = 0x1234_5670;

  /** The traced size in the domain, from a snapshot (CPython's get_traced_memory of TestCAPI). */
  function tracedInDomain(tracer: ReturnType<typeof traced>["tracer"]): number {
    const snapshot = tracer.takeSnapshot().filterTraces([new DomainFilter(true, domain)]);
    return snapshot.traces.reduce((sum, trace) => sum + trace.size, 0);
  }

  function track(tracer: ReturnType<typeof traced>["tracer"]): [boolean, string[]] {
    return [tracer.trackExternal(domain, ptr, size), stackHere()];
  }

  it("test_track: the trace has the caller's traceback and the size", () => {
    const { tracer } = traced(5);
    const [ok, frames] = track(tracer);
    expect(ok).toBe(true);
    const snapshot = tracer.takeSnapshot().filterTraces([new DomainFilter(true, domain)]);
    expect(snapshot.traces.length).toBe(1);
    expect(recentFirst(snapshot.traces[0]!.traceback)).toEqual(frames.slice(0, 5));
    expect(tracedInDomain(tracer)).toBe(size);
    // the allocator's domain knows nothing of it
    expect(tracer.getObjectTraceback(ptr)).toBeNull();
    expect(tracer.getTracedMemory()).toEqual([size, size]);
  });

  it("test_track_already_tracked: tracking again replaces the trace", () => {
    const { tracer } = traced(5);
    track(tracer);
    const [, frames] = track(tracer);
    const traces = tracer.takeSnapshot().traces;
    expect(traces.length).toBe(1);
    expect(recentFirst(traces[0]!.traceback)).toEqual(frames.slice(0, 5));
    expect(tracer.getTracedMemory()[0]).toBe(size);
  });

  it("test_untrack: the trace goes; untracking again is fine", () => {
    const { tracer } = traced(1);
    track(tracer);
    expect(tracedInDomain(tracer)).toBe(size);
    expect(tracer.untrackExternal(domain, ptr)).toBe(true);
    expect(tracedInDomain(tracer)).toBe(0);
    expect(tracer.getTracedMemory()).toEqual([0, size]);
    expect(tracer.untrackExternal(domain, ptr)).toBe(true);
    expect(tracer.untrackExternal(domain, ptr)).toBe(true);
    expect(tracer.untrackExternal(99, ptr)).toBe(true);
  });

  it("test_stop_track / test_stop_untrack: after stop both answer false (CPython's -2) and record nothing", () => {
    const { tracer } = traced(1);
    track(tracer);
    tracer.stop();
    expect(tracer.trackExternal(domain, ptr, size)).toBe(false);
    expect(tracer.untrackExternal(domain, ptr)).toBe(false);
    tracer.start();
    expect(tracedInDomain(tracer)).toBe(0);
  });

  it("domain 0 is the runtime's: a block tracked there is found by getObjectTraceback", () => {
    const { tracer } = traced(1);
    const [ok, line] = [tracer.trackExternal(0, ptr, 8), here()];
    expect(ok).toBe(true);
    expect(tracer.getObjectTraceback(ptr)).toEqual(new Traceback([line]));
  });
});

describe("test_pymem_alloc0: a 0-byte block is traced with size 0", () => {
  it.each(["raw", "mem", "obj"] as const)("%s", (domain) => {
    const { runtime, tracer } = traced(1);
    const p = domain === "raw" ? runtime.rawMalloc(0) : domain === "mem" ? runtime.memMalloc(0) : runtime.objMalloc(0);
    expect(p).not.toBe(0);
    expect(tracer.takeSnapshot().traces.map((t) => t.size)).toEqual([0]);
    expect(tracer.getObjectTraceback(p)).not.toBeNull();
  });
});
