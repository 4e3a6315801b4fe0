/*
 * C compiled to wasm under @tsmalloc/tracemalloc: the tracebacks' frames are the C functions of
 * the module (V8's stack carries their names from the name section), the first one the function
 * that called malloc, never the shim's malloc or its import's JavaScript. A wasm frame is
 * Frame("<module>:<function>", <byte offset of the call>): statistics by "lineno" are one line
 * per call site, by "filename" one per C function. The debug hooks' report ends with them.
 */
import { DebugCorruptionError } from "@tsmalloc/debug";
import { createTracemalloc, type Statistic, type Tracemalloc } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import type { TsmallocInstance } from "../src/index.ts";
import { exampleBytes, fixtureBytes, runProgram } from "./helpers.ts";

/** V8's name of a module compiled from bytes (no URL): wasm://wasm/<hash of the bytes>. */
const MODULE = /^wasm:\/\/wasm\/[0-9a-f]+$/;

/** Runs `bytes` with a tracer started on its runtime before the program starts. */
async function tracedRun(bytes: Uint8Array, nframe: number, args: readonly string[], allocator = "pymalloc_debug") {
  let tracer: Tracemalloc | null = null;
  const run = await runProgram(bytes, {
    allocator,
    args,
    beforeStart: (instance: TsmallocInstance) => {
      tracer = createTracemalloc(instance.runtime);
      tracer.start(nframe);
    },
  });
  return { run, tracer: tracer! as Tracemalloc };
}

/** The statistics by "lineno" of the blocks C function `fn` allocated (1-frame tracebacks). */
function linesOf(tracer: Tracemalloc, fn: string): Statistic[] {
  return tracer
    .takeSnapshot()
    .statistics("lineno")
    .filter((statistic) => statistic.traceback.frames[0]!.filename.endsWith(`:${fn}`));
}

/** The frames a report's traceback lists, most recent first: [module, function, line]. */
function reportFrames(report: string): [string, string, number][] {
  const at = report.indexOf("Memory block allocated at (most recent call first):\n");
  expect(at).toBeGreaterThan(0);
  const frames: [string, string, number][] = [];
  for (const line of report.slice(at).split("\n").slice(1)) {
    const frame = /^ {2}File "(.*):([^:]+)", line (\d+)$/.exec(line);
    if (frame === null) break;
    frames.push([frame[1]!, frame[2]!, Number(frame[3])]);
  }
  return frames;
}

describe("heap-bugs under pymalloc_debug with tracemalloc", () => {
  it("the overflow's report ends with the allocation traceback: overflow(), then main", async () => {
    const { run, tracer } = await tracedRun(exampleBytes("heap-bugs"), 3, ["overflow"]);
    expect(run.error).toBeInstanceOf(DebugCorruptionError);
    const report = (run.error as DebugCorruptionError).report;
    expect(report).not.toContain("Enable tracemalloc");
    const frames = reportFrames(report);
    expect(frames.map(([, fn]) => fn)).toEqual(["overflow", "main", "__main_void"]);
    for (const [module, , line] of frames) {
      expect(module).toMatch(MODULE);
      expect(line).toBeGreaterThan(0);
    }
    // the traceback is the last part of the report, before CPython's fatal error line
    expect(report).toMatch(/\n {2}File "wasm:\/\/wasm\/[0-9a-f]+:__main_void", line \d+\n\nFatal tsmalloc error: debugRawFree: bad trailing pad byte\n$/);
    // the same frame as tracemalloc's own API gives
    const p = Number.parseInt(/p=0x([0-9a-f]+)/.exec(report)![1]!, 16);
    const traceback = tracer.getObjectTraceback(p)!;
    expect(traceback.format(null, true)).toEqual(frames.map(([module, fn, line]) => `  File "${module}:${fn}", line ${line}`));
    tracer.stop();
  });

  it("the use after free's report, at the second free, names use_after_free(): the tracer remembers the blocks freed last", async () => {
    const { run, tracer } = await tracedRun(exampleBytes("heap-bugs"), 2, ["use-after-free"]);
    expect(run.stdout).toBe("after free, the alias reads dd dd dd dd\n");
    expect(run.error).toBeInstanceOf(DebugCorruptionError);
    const report = (run.error as DebugCorruptionError).report;
    expect(report).not.toContain("Enable tracemalloc");
    expect(reportFrames(report).map(([, fn]) => fn)).toEqual(["use_after_free", "main"]);
    expect(report).toMatch(/:main", line \d+\n\nFatal tsmalloc error: debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'm'\n$/);
    tracer.stop();
  });
});

describe("the frames of a C program's allocations", () => {
  it("start at the C function that called the shim, whichever entry point it called", async () => {
    const { run, tracer } = await tracedRun(fixtureBytes("alloc-sites"), 1, ["5"], "default");
    expect(run.status).toBe(0);
    const snapshot = tracer.takeSnapshot();
    // every traced block has one frame (nframe 1): a C function of the module
    const byFunction = new Map<string, number>();
    for (const statistic of snapshot.statistics("filename")) {
      const { filename } = statistic.traceback.frames[0]!;
      const [, module, fn] = /^(.*):([^:]+)$/.exec(filename)!;
      expect(module).toMatch(MODULE);
      if (!fn!.startsWith("make_")) continue; // wasi-libc's start-up: argv and its strings
      byFunction.set(fn!, statistic.count);
    }
    expect(Object.fromEntries(byFunction)).toEqual({ make_pair: 10, make_record: 1, make_aligned: 2, make_python_objects: 3 });
    tracer.stop();
  });

  it("groups statistics by lineno per call site: make_pair's two mallocs are two lines", async () => {
    const { tracer } = await tracedRun(fixtureBytes("alloc-sites"), 1, ["7"], "default");
    const pairs = linesOf(tracer, "make_pair");
    expect(pairs.map((statistic) => [statistic.size, statistic.count])).toEqual([
      [7 * 40, 7],
      [7 * 24, 7],
    ]);
    const [big, small] = pairs.map((statistic) => statistic.traceback.frames[0]!.lineno);
    expect(big).not.toBe(small);
    expect(small! < big!).toBe(true); // the first malloc's call comes first in the function's code
    tracer.stop();
  });

  it("names a function of a module stripped of its name section as V8 does, wasm-function[<index>], and cannot drop its malloc", async () => {
    const stripped = fixtureBytes("alloc-sites", { output: "alloc-sites-stripped", flags: ["-Wl,--strip-all"] });
    const { tracer } = await tracedRun(stripped, 3, ["3"], "default");
    const frames = tracer.takeSnapshot().traces.flatMap((trace) => trace.traceback.frames.map((frame) => frame.filename));
    const wasmFrames = frames.filter((filename) => filename.startsWith("wasm://"));
    expect(wasmFrames.length).toBeGreaterThan(0);
    for (const filename of wasmFrames) expect(filename).toMatch(/^wasm:\/\/wasm\/[0-9a-f]+:wasm-function\[\d+\]$/);
    // without its name the shim's malloc is not known for the allocator's: its import stays too
    expect(frames.some((filename) => filename.endsWith("allocator-imports.ts"))).toBe(true);
    tracer.stop();
  });

  it("follows realloc: make_record's calloc'd block moved to its realloc's size and call site", async () => {
    const { tracer } = await tracedRun(fixtureBytes("alloc-sites"), 1, ["1"], "default");
    const records = linesOf(tracer, "make_record");
    expect(records.map((statistic) => [statistic.size, statistic.count])).toEqual([[100, 1]]);
    tracer.stop();
  });
});
