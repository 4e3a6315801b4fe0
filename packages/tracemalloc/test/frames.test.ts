/*
 * Which frames a traceback holds: the JavaScript caller's, never tsmalloc's own. The first frame
 * is the line that called memMalloc / objMalloc / … (whether the Runtime method or the package's
 * function), or the allocator itself when it is called directly; built-in frames are left out;
 * lines are the sources' (vitest's and Node's source maps); a file: URL is a path.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import * as registry from "@tsmalloc/registry";
import { createRuntime, Domain, type Runtime, setDefaultRuntime } from "@tsmalloc/registry";
import { runExample } from "@tsmalloc/testkit";
import { createTracemalloc, Frame, getObjectTraceback, trackExternal, Traceback } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import { here, recentFirst, stackHere, traced } from "./helpers.ts";

type Entry = "rawMalloc" | "rawCalloc" | "rawRealloc" | "memMalloc" | "memCalloc" | "memRealloc" | "objMalloc" | "objCalloc" | "objRealloc";

/** Calls the entry point `name` of `target` (a Runtime, or the registry's functions) with a small request. */
function call(target: Runtime | typeof registry, name: Entry): number {
  if (name.endsWith("Calloc")) return (target[name] as (n: number, e: number) => number)(2, 8);
  if (name.endsWith("Realloc")) return (target[name] as (p: number, n: number) => number)(0, 16);
  return (target[name] as (n: number) => number)(16);
}

const ENTRIES: readonly Entry[] = ["rawMalloc", "rawCalloc", "rawRealloc", "memMalloc", "memCalloc", "memRealloc", "objMalloc", "objCalloc", "objRealloc"];

describe("the first frame is the line that called the entry point", () => {
  it.each(ENTRIES)("runtime.%s", (name) => {
    const { runtime, tracer } = traced(1);
    const [p, line] = [call(runtime, name), here()];
    // call() is a frame of this file too: the traceback's frame is the line inside call() that
    // called the entry point, and the next one is ours
    tracer.stop();
    tracer.start(2);
    const [q, lines] = [call(runtime, name), stackHere()];
    expect(recentFirst(tracer.getObjectTraceback(q))[1]).toBe(lines[0]);
    expect(tracer.getObjectTraceback(p)).toBeNull(); // stop() forgot it
    expect(line.lineno).toBeGreaterThan(0);
  });

  it.each(ENTRIES)("the package's %s() on the default runtime", (name) => {
    const runtime = createRuntime();
    setDefaultRuntime(runtime);
    const tracer = createTracemalloc(runtime);
    tracer.start(2);
    const [p, lines] = [call(registry, name), stackHere()];
    const frames = recentFirst(tracer.getObjectTraceback(p));
    expect(frames[0]).toMatch(/frames\.test\.ts:\d+$/); // inside call()
    expect(frames[1]).toBe(lines[0]);
    tracer.stop();
  });

  it("direct calls, written out: each line is its own", () => {
    const { runtime, tracer } = traced(1);
    setDefaultRuntime(runtime);
    const lines: [number, number][] = [
      [runtime.rawMalloc(1), here().lineno],
      [runtime.memCalloc(1, 1), here().lineno],
      [runtime.objRealloc(0, 1), here().lineno],
      [registry.memMalloc(1), here().lineno],
      [registry.objCalloc(3, 3), here().lineno],
    ];
    for (const [p, line] of lines) expect(tracer.getObjectTraceback(p)!.at(0)!.lineno).toBe(line);
  });

  it("an allocator called directly (getAllocator(domain).malloc): the line that called it", () => {
    const { runtime, tracer } = traced(1);
    const mem = runtime.getAllocator(Domain.MEM);
    const [p, line] = [mem.malloc(24), here()];
    expect(tracer.getObjectTraceback(p)!.frames).toEqual([line]);
  });

  it("trackExternal, as a method or the package's function: the line that called it", () => {
    const runtime = createRuntime();
    setDefaultRuntime(runtime);
    const tracer = createTracemalloc(runtime);
    tracer.start(1);
    const [, line1] = [tracer.trackExternal(0, 0x1000, 8), here()];
    const [, line2] = [trackExternal(0, 0x2000, 8), here()];
    expect(getObjectTraceback(0x1000)!.frames).toEqual([line1]);
    expect(getObjectTraceback(0x2000)!.frames).toEqual([line2]);
    tracer.stop();
  });

  it("debug hooks between the entry point and the tracer (installed after it) are skipped too", () => {
    const { runtime, tracer } = traced(3);
    runtime.setupDebugHooks();
    runtime.setNoMemory(0x7fff_ffff); // fault hooks over the debug hooks, failing nothing
    const [p, lines] = [runtime.objMalloc(8), stackHere()];
    // the tracer traced the hooks' request, whose block starts 16 bytes below the data
    expect(recentFirst(tracer.getObjectTraceback(p - 16))).toEqual(lines.slice(0, 3));
    runtime.removeMemHooks();
  });

  it("a JavaScript function named malloc is a frame like any other: only a wasm module's malloc is the allocator's", () => {
    const { runtime, tracer } = traced(2);
    const lines: string[][] = [];
    const malloc = (size: number): number => {
      const p = runtime.memMalloc(size);
      lines.push(stackHere());
      return p;
    };
    const [p, outer] = [malloc(8), stackHere()];
    const frames = recentFirst(tracer.getObjectTraceback(p));
    expect(frames[0]).toMatch(/frames\.test\.ts:\d+$/);
    expect(frames[0]).not.toBe(outer[0]); // the line inside malloc
    expect(frames[1]).toBe(outer[0]);
    expect(lines).toHaveLength(1);
  });
});

describe("frames", () => {
  it("leave out built-in frames (Array.prototype.map), as CPython's frames are Python's only", () => {
    const { runtime, tracer } = traced(2);
    const outer = here().lineno + 1;
    const blocks = [1].map(
      () => runtime.memMalloc(8), // the arrow function's line
    );
    expect(tracer.getObjectTraceback(blocks[0]!)!.frames.map((f) => f.lineno)).toEqual([outer, outer + 1]);
  });

  it("name code made from a string (new Function, eval) <eval>", () => {
    const { runtime, tracer } = traced(2);
    const allocate = new Function("runtime", "\n  return runtime.objMalloc(8);") as (r: Runtime) => number;
    const [p, line] = [allocate(runtime), here()];
    // line 4 of the source V8 makes: "(function anonymous(runtime", ") {", then the body
    expect(tracer.getObjectTraceback(p)!.frames.map(String)).toEqual([String(line), "<eval>:4"]);
  });

  it("are kept up to the limit, however deep the stack", () => {
    const { runtime, tracer } = traced(5);
    const deep = (n: number): [number, string[]] => (n === 0 ? [runtime.memMalloc(8), stackHere()] : deep(n - 1));
    const [p, frames] = deep(30);
    const traceback = tracer.getObjectTraceback(p)!;
    expect(traceback.length).toBe(5);
    expect(recentFirst(traceback)).toEqual(frames.slice(0, 5));
    // and all of them when the limit is larger than the stack
    tracer.stop();
    tracer.start(1000);
    const [q, all] = deep(3);
    expect(recentFirst(tracer.getObjectTraceback(q))).toEqual(all);
  });

  it("are interned: one Traceback object per distinct traceback, shared by snapshots and lookups", () => {
    const { runtime, tracer } = traced(1);
    const blocks: number[] = [];
    const line = here().lineno + 1;
    for (let i = 0; i < 3; i++) blocks.push(runtime.memMalloc(8 + i));
    const traces = tracer.takeSnapshot().traces;
    expect(traces.length).toBe(3);
    expect(new Set(traces.map((t) => t.traceback)).size).toBe(1);
    expect(tracer.getObjectTraceback(blocks[2]!)).toBe(traces[0]!.traceback);
    expect(traces[0]!.traceback.at(0)).toBe(traces[1]!.traceback.at(0));
    expect(tracer.takeSnapshot().traces[0]!.traceback).toBe(traces[0]!.traceback);
    // cleared traces make new ones
    tracer.clearTraces();
    const again = [1, 2].map(() => runtime.memMalloc(8))[1]!;
    expect(traces[0]!.traceback.at(0)!.lineno).toBe(line);
    expect(tracer.getObjectTraceback(again)).not.toBe(traces[0]!.traceback);
    expect(tracer.getObjectTraceback(again)).toEqual(new Traceback([new Frame(traces[0]!.traceback.at(0)!.filename, line + 9)]));
  });

  it("are <unknown>:0 where the engine has no Error.captureStackTrace (CPython's empty traceback)", () => {
    const { runtime, tracer } = traced(3);
    const v8 = Error as { captureStackTrace?: unknown };
    const saved = v8.captureStackTrace;
    delete v8.captureStackTrace;
    let p: number;
    try {
      p = runtime.memMalloc(8);
    } finally {
      v8.captureStackTrace = saved;
    }
    expect(tracer.getObjectTraceback(p)!.frames).toEqual([new Frame("<unknown>", 0)]);
    expect(String(tracer.takeSnapshot().statistics("lineno")[0])).toBe("<unknown>:0: size=8 B, count=1, average=8 B");
  });

  it("of a call from a built-in are the built-in's caller's", () => {
    const { runtime, tracer } = traced(1);
    // the entry point itself is the callback: no frame of this file between map and it
    const [p, line] = [[16].map(runtime.memMalloc.bind(runtime) as (n: number) => number)[0]!, here()];
    expect(tracer.getObjectTraceback(p)!.frames).toEqual([line]);
  });

  it("of a source-mapped program are its source lines (tsx, Node's source maps)", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/source-mapped.ts", import.meta.url));
    const tsx = createRequire(import.meta.url).resolve("tsx");
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ["--import", tsx, "--conditions=@tsmalloc/source", fixture], { timeout: 60_000 }, (error, stdout, stderr) => {
        if (error !== null) reject(new Error(`${error.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
    expect(JSON.parse(out)).toEqual([
      [fixture, 23],
      [fixture, 20],
    ]);
  }, 60_000);

  it("of a script loaded from a file: URL name its path", async () => {
    const run = await runExample(fileURLToPath(new URL("./fixtures/plain-node.ts", import.meta.url)), 60_000, { TSMALLOC: undefined, TSMALLOC_TRACEMALLOC: undefined });
    expect(run.stderr).toBe("");
    const printed = JSON.parse(run.stdout) as { filename: string; lineno: number; url: string; line: number };
    expect(printed.url.startsWith("file:///")).toBe(true);
    expect(printed.filename).toBe(fileURLToPath(printed.url));
    expect(printed.lineno).toBe(printed.line);
  }, 60_000);
});
