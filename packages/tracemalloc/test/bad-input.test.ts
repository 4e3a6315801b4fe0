/*
 * Every public function refuses a bad argument with a TsmallocError of a stable code, and the
 * tracer is exactly as before: tracing or not as it was, the same traces, the same figures.
 */
import { ErrorCode } from "@tsmalloc/memory";
import { createRuntime } from "@tsmalloc/registry";
import {
  createTracemalloc,
  DomainFilter,
  Filter,
  Frame,
  parseTracemallocEnv,
  Snapshot,
  Statistic,
  StatisticDiff,
  Trace,
  Traceback,
  type Tracemalloc,
} from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import { expectError, traceback1, traced } from "./helpers.ts";

/** What must not change: tracing, limit, figures, the traces. */
function state(tracer: Tracemalloc): unknown {
  return [tracer.isTracing(), tracer.getTracebackLimit(), tracer.getTracedMemory(), tracer.isTracing() ? tracer.takeSnapshot().traces.map(String) : []];
}

/** A tracer with a few traces, in both states. */
function tracers(): Tracemalloc[] {
  const { runtime, tracer } = traced(2);
  runtime.memMalloc(10);
  runtime.objMalloc(20);
  tracer.trackExternal(4, 0x4000, 30);
  return [tracer, createTracemalloc(createRuntime())];
}

const NOT_NFRAME: readonly unknown[] = [0, -1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "2", 2n, null, {}];
const NOT_ADDRESS: readonly unknown[] = [-1, 1.5, Number.NaN, 2 ** 32, "8", 8n, null, undefined];
const NOT_DOMAIN: readonly unknown[] = [-1, 1.5, Number.NaN, 2 ** 32, "0", 0n, null, undefined];
const NOT_SIZE: readonly unknown[] = [-1, 1.5, Number.NaN, 2 ** 53, "8", 8n, null, undefined];

describe("the tracer", () => {
  it("createTracemalloc refuses what is not a Runtime", () => {
    for (const value of [undefined, null, {}, 1, "runtime", createTracemalloc]) expectError(() => createTracemalloc(value as never), ErrorCode.InvalidOption);
  });

  it("start refuses a number of frames outside 1..65535, tracing or not, and changes nothing", () => {
    for (const tracer of tracers()) {
      const before = state(tracer);
      for (const value of NOT_NFRAME) {
        const error = expectError(() => tracer.start(value as number), ErrorCode.InvalidOption);
        expect(error.message).toContain("the number of frames must be an integer in [1; 65535]");
      }
      expect(state(tracer)).toEqual(before);
    }
  });

  it("getObjectTraceback refuses what is not an address", () => {
    for (const tracer of tracers()) {
      for (const value of NOT_ADDRESS) expectError(() => tracer.getObjectTraceback(value as number), ErrorCode.InvalidPointer);
    }
  });

  it("trackExternal and untrackExternal check every argument, tracing or not, and record nothing", () => {
    for (const tracer of tracers()) {
      const before = state(tracer);
      for (const value of NOT_DOMAIN) {
        expectError(() => tracer.trackExternal(value as number, 0x100, 1), ErrorCode.InvalidOption);
        expectError(() => tracer.untrackExternal(value as number, 0x100), ErrorCode.InvalidOption);
      }
      for (const value of [...NOT_ADDRESS, 0]) expectError(() => tracer.trackExternal(1, value as number, 1), ErrorCode.InvalidPointer);
      for (const value of NOT_ADDRESS) expectError(() => tracer.untrackExternal(1, value as number), ErrorCode.InvalidPointer);
      for (const value of NOT_SIZE) expectError(() => tracer.trackExternal(1, 0x100, value as number), ErrorCode.InvalidSize);
      expect(state(tracer)).toEqual(before);
    }
  });
});

describe("snapshots", () => {
  const snapshot = new Snapshot([new Trace(0, 10, traceback1("a.js", 1))], 1);

  it("statistics and compareTo refuse unknown key types, a cumulative traceback and a non-boolean cumulative", () => {
    for (const keyType of ["foo", "", "Lineno", null, 1, undefined]) {
      expectError(() => snapshot.statistics(keyType as never), ErrorCode.InvalidOption);
      expectError(() => snapshot.compareTo(snapshot, keyType as never), ErrorCode.InvalidOption);
    }
    expectError(() => snapshot.statistics("traceback", true), ErrorCode.InvalidOption);
    for (const cumulative of ["yes", 1, null]) expectError(() => snapshot.statistics("lineno", cumulative as never), ErrorCode.InvalidOption);
    for (const old of [null, {}, [], snapshot.traces]) expectError(() => snapshot.compareTo(old as never, "lineno"), ErrorCode.InvalidOption);
  });

  it("filterTraces refuses a filter on its own, and what is not a filter", () => {
    for (const filters of [new Filter(true, "a"), new DomainFilter(true, 0), null, 1, "a", [1], [null], [{ inclusive: true }]]) {
      expectError(() => snapshot.filterTraces(filters as never), ErrorCode.InvalidOption);
    }
  });

  it("the constructor refuses what is not traces and a limit", () => {
    for (const traces of [null, 1, [1], [null], [{ domain: 0, size: 1 }]]) expectError(() => new Snapshot(traces as never, 1), ErrorCode.InvalidOption);
    for (const limit of [-1, 1.5, "1", null]) expectError(() => new Snapshot([], limit as number), ErrorCode.InvalidOption);
  });

  it("dump, load and parse refuse bad paths and texts", () => {
    for (const path of ["", null, 1, undefined]) {
      expectError(() => snapshot.dump(path as never), ErrorCode.InvalidOption);
      expectError(() => Snapshot.load(path as never), ErrorCode.InvalidOption);
    }
    for (const text of [null, 1, undefined, {}]) expectError(() => Snapshot.parse(text as never), ErrorCode.InvalidOption);
  });
});

describe("value classes", () => {
  const tb = traceback1("a.js", 1);

  it("Frame, Traceback, Trace", () => {
    for (const [f, l] of [[1, 1], [null, 1], ["a", -1], ["a", 1.5], ["a", "1"], ["a", 2 ** 32]]) expectError(() => new Frame(f as string, l as number), ErrorCode.InvalidOption);
    for (const frames of [[], null, 1, "ab", [null], [{ filename: "a", lineno: 1 }]]) expectError(() => new Traceback(frames as never), ErrorCode.InvalidOption);
    for (const [d, s, t] of [[-1, 1, tb], [0, -1, tb], [0, 1.5, tb], [0, 2 ** 53, tb], [0, 1, null], [0, 1, [new Frame("a", 1)]]]) {
      expectError(() => new Trace(d as number, s as number, t as Traceback), ErrorCode.InvalidOption);
    }
    for (const limit of [1.5, "1"]) expectError(() => tb.format(limit as number), ErrorCode.InvalidOption);
    expectError(() => tb.format(null, "yes" as never), ErrorCode.InvalidOption);
  });

  it("Statistic, StatisticDiff", () => {
    for (const [t, s, c] of [[null, 1, 1], [tb, -1, 1], [tb, 1, 1.5], [tb, "1", 1]]) expectError(() => new Statistic(t as Traceback, s as number, c as number), ErrorCode.InvalidOption);
    expectError(() => new StatisticDiff(tb, 1, 1.5, 1, 1), ErrorCode.InvalidOption);
    expectError(() => new StatisticDiff(tb, -1, 1, 1, 1), ErrorCode.InvalidOption);
    expectError(() => new StatisticDiff(tb, 1, 1, 1, Number.NaN), ErrorCode.InvalidOption);
    expect(String(new StatisticDiff(tb, 1, -5, 1, -5))).toBe("a.js:1: size=1 B (-5 B), count=1 (-5), average=1 B");
  });

  it("Filter, DomainFilter", () => {
    const bad: unknown[][] = [
      ["true", "a"],
      [true, 1],
      [true, null],
      [true, "a", -1],
      [true, "a", 1.5],
      [true, "a", "1"],
      [true, "a", null, 1],
      [true, "a", null, false, -1],
      [true, "a", null, false, "0"],
    ];
    for (const args of bad) expectError(() => new Filter(...(args as [boolean, string])), ErrorCode.InvalidOption);
    for (const args of [[1, 0], [true, -1], [true, 1.5], [true, null]]) expectError(() => new DomainFilter(...(args as [boolean, number])), ErrorCode.InvalidOption);
  });
});

describe("TSMALLOC_TRACEMALLOC", () => {
  it.each(["abc", "-1", "1.5", "65536", "70000", " 3", "3 ", "0x3", "+3", "1e1", "123456"])("%j is refused with a message naming the variable", (value) => {
    const error = expectError(() => parseTracemallocEnv(value), ErrorCode.InvalidOption);
    expect(error.message).toBe(`TSMALLOC_TRACEMALLOC: invalid number of frames ${JSON.stringify(value)}; expected an integer from 0 (off) to 65535`);
  });

  it("unset, empty and 0 are off; 1..65535 is the number of frames", () => {
    expect([undefined, "", "0", "00", "1", "10", "65535", "007"].map(parseTracemallocEnv)).toEqual([0, 0, 0, 0, 1, 10, 65535, 7]);
  });
});
