/*
 * The package's functions: CPython's module-level API on the tracer of the registry's default
 * runtime, following setDefaultRuntime.
 */
import { createRuntime, defaultRuntime, memFree, memMalloc, objMalloc, setDefaultRuntime } from "@tsmalloc/registry";
import {
  clearTraces,
  createTracemalloc,
  defaultTracemalloc,
  getObjectTraceback,
  getTracebackLimit,
  getTracedMemory,
  getTracemallocMemory,
  isTracing,
  resetPeak,
  start,
  startFromEnvironment,
  stop,
  takeSnapshot,
  trackExternal,
  untrackExternal,
} from "@tsmalloc/tracemalloc";
import { afterEach, describe, expect, it } from "vitest";
import { here } from "./helpers.ts";

afterEach(() => stop());

describe("the package's functions", () => {
  it("are the default runtime's tracer's", () => {
    setDefaultRuntime(createRuntime());
    expect(defaultTracemalloc()).toBe(createTracemalloc(defaultRuntime()));
    expect(isTracing()).toBe(false);
    expect(getTracedMemory()).toEqual([0, 0]);
    expect(getTracemallocMemory()).toBe(0);
    start(4);
    expect(isTracing()).toBe(true);
    expect(getTracebackLimit()).toBe(4);
    const [p, line] = [memMalloc(1000), here()];
    const q = objMalloc(24);
    expect(getObjectTraceback(p)!.at(-1)).toEqual(line);
    expect(getTracedMemory()).toEqual([1024, 1024]);
    memFree(p);
    resetPeak();
    expect(getTracedMemory()).toEqual([24, 24]);
    expect(trackExternal(9, 0x9000, 76)).toBe(true);
    expect(takeSnapshot().traces.map((t) => [t.domain, t.size]).sort()).toEqual([[0, 24], [9, 76]]);
    expect(untrackExternal(9, 0x9000)).toBe(true);
    expect(getTracemallocMemory()).toBeGreaterThan(0);
    clearTraces();
    expect(getObjectTraceback(q)).toBeNull();
    expect(getTracedMemory()).toEqual([0, 0]);
    stop();
    expect(isTracing()).toBe(false);
    expect(trackExternal(9, 0x9000, 76)).toBe(false);
  });

  it("follow setDefaultRuntime", () => {
    const a = createRuntime();
    const b = createRuntime();
    setDefaultRuntime(a);
    start();
    setDefaultRuntime(b);
    expect(isTracing()).toBe(false);
    expect(createTracemalloc(a).isTracing()).toBe(true);
    createTracemalloc(a).stop();
  });
});

describe("startFromEnvironment", () => {
  it("starts the default runtime's tracer with TSMALLOC_TRACEMALLOC frames, or does nothing", () => {
    setDefaultRuntime(createRuntime());
    expect(startFromEnvironment({})).toBeNull();
    expect(startFromEnvironment({ TSMALLOC_TRACEMALLOC: "0" })).toBeNull();
    expect(isTracing()).toBe(false);
    const tracer = startFromEnvironment({ TSMALLOC_TRACEMALLOC: "3" });
    expect(tracer).toBe(defaultTracemalloc());
    expect(isTracing()).toBe(true);
    expect(getTracebackLimit()).toBe(3);
  });
});
