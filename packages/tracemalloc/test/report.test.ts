/*
 * The debug hooks' report with tracemalloc, as CPython prints it: `_PyObject_DebugDumpAddress`'s
 * dump, then `_PyMem_DumpTraceback`'s part (the block's allocation traceback, most recent call
 * first; nothing for an untraced block; "Enable tracemalloc to get the memory block allocation
 * traceback" when the block's runtime is not traced), then the fatal-error line. CPython's
 * -X tracemalloc=5 run prints `Memory block allocated at (most recent call first):` and
 * `  File "<string>", line 1`.
 */
import { formatAddress, LinearMemory } from "@tsmalloc/memory";
import { createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import { createTracemalloc } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import { FREED_BLOCKS } from "../src/freed-blocks.ts";
import { corruption, here, traced } from "./helpers.ts";

const ENABLE = "Enable tracemalloc to get the memory block allocation traceback";

/** The lines of a report (it ends with a newline). */
function lines(report: string): string[] {
  expect(report.endsWith("\n")).toBe(true);
  return report.slice(0, -1).split("\n");
}

/** The 8 lines of trailing pad bytes at `tail` with 0x78 over the first. */
function overflowLines(tail: number): string[] {
  return [
    `    The 8 pad bytes at tail=${formatAddress(tail)} are not all FORBIDDENBYTE (0xfd):`,
    "        at tail+0: 0x78 *** OUCH",
    ...[1, 2, 3, 4, 5, 6, 7].map((i) => `        at tail+${i}: 0xfd`),
  ];
}

/** Allocates 16 bytes through `runtime.objMalloc` one call below the caller, returning the lines. */
function parse(runtime: Runtime): [number, number] {
  return [runtime.objMalloc(16), here().lineno];
}

describe("the report of a damaged block ends with its allocation traceback", () => {
  it("CPython's text, in CPython's place: after the dump, before the fatal-error line", () => {
    const { runtime } = traced(2, { allocator: "pymalloc_debug" });
    const [[p, inner], outer] = [parse(runtime), here()];
    runtime.memory.u8[p + 16] = 0x78;
    const error = corruption(() => runtime.objFree(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'o'`,
      "    16 bytes originally requested",
      "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.",
      ...overflowLines(p + 16),
      "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd",
      "",
      "Memory block allocated at (most recent call first):",
      `  File "${outer.filename}", line ${inner}`,
      `  File "${outer.filename}", line ${outer.lineno}`,
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
  });

  it.each(["debug", "malloc_debug", "pymalloc_debug"])("in every domain and debug configuration (%s), for free and realloc", (allocator) => {
    const { runtime } = traced(1, { allocator });
    for (const domain of [Domain.RAW, Domain.MEM, Domain.OBJ]) {
      const [p, line] = [domain === Domain.RAW ? runtime.rawMalloc(40) : domain === Domain.MEM ? runtime.memMalloc(40) : runtime.objMalloc(40), here()];
      runtime.memory.u8[p - 1] = 0x41;
      const free = domain === Domain.RAW ? () => runtime.rawFree(p) : domain === Domain.MEM ? () => runtime.memFree(p) : () => runtime.objFree(p);
      const realloc = domain === Domain.RAW ? () => runtime.rawRealloc(p, 80) : domain === Domain.MEM ? () => runtime.memRealloc(p, 80) : () => runtime.objRealloc(p, 80);
      for (const [call, func] of [[free, "debugRawFree"], [realloc, "debugRawRealloc"]] as const) {
        expect(lines(corruption(call).report).slice(-5)).toEqual([
          "",
          "Memory block allocated at (most recent call first):",
          `  File "${line.filename}", line ${line.lineno}`,
          "",
          `Fatal tsmalloc error: ${func}: bad leading pad byte`,
        ]);
      }
    }
  });

  it("a large block: the MEM trace, not pymalloc's RAW request inside it", () => {
    const { runtime } = traced(1, { allocator: "debug" });
    const [p, line] = [runtime.memMalloc(5000), here()];
    runtime.memory.u8[p + 5000] = 0x78;
    expect(lines(corruption(() => runtime.memFree(p)).report).slice(-5, -1)).toEqual([
      "",
      "Memory block allocated at (most recent call first):",
      `  File "${line.filename}", line ${line.lineno}`,
      "",
    ]);
  });

  it("with the tracer under the hooks (debug hooks installed after tracing started)", () => {
    const { runtime } = traced(1);
    runtime.setupDebugHooks();
    const [p, line] = [runtime.memMalloc(24), here()];
    runtime.memory.u8[p + 24] = 0x78;
    expect(lines(corruption(() => runtime.memFree(p)).report).slice(-4, -1)).toEqual([
      "Memory block allocated at (most recent call first):",
      `  File "${line.filename}", line ${line.lineno}`,
      "",
    ]);
  });

  it("on the wasm32 layout (4-byte size field, 8-byte header), in either order", () => {
    const { runtime } = traced(1, { allocator: "pymalloc_debug", platform: "wasm32" });
    const [p, line] = [runtime.objMalloc(16), here()];
    runtime.memory.u8[p + 16] = 0x78;
    expect(lines(corruption(() => runtime.objFree(p)).report).slice(-4, -1)).toEqual([
      "Memory block allocated at (most recent call first):",
      `  File "${line.filename}", line ${line.lineno}`,
      "",
    ]);
    const { runtime: under } = traced(1, { platform: "wasm32" });
    under.setupDebugHooks();
    const [q, lineQ] = [under.memMalloc(24), here()];
    under.memory.u8[q + 24] = 0x78;
    expect(lines(corruption(() => under.memFree(q)).report).slice(-3, -2)).toEqual([`  File "${lineQ.filename}", line ${lineQ.lineno}`]);
  });

  it("in the hooks' dump() too", () => {
    const { runtime } = traced(1, { allocator: "pymalloc_debug" });
    const [p, line] = [runtime.objMalloc(8), here()];
    const hooks = runtime.getAllocator(Domain.OBJ) as unknown as { wrapped: { dump(p: number): string } };
    expect(hooks.wrapped.dump(p).endsWith(`Memory block allocated at (most recent call first):\n  File "${line.filename}", line ${line.lineno}\n\n`)).toBe(true);
  });
});

describe("without a traceback", () => {
  it("says to enable tracemalloc when the runtime is not traced (never started, or stopped)", () => {
    const runtime = createRuntime({ allocator: "pymalloc_debug" });
    const p = runtime.objMalloc(16);
    runtime.memory.u8[p + 16] = 0x78;
    expect(lines(corruption(() => runtime.objFree(p)).report).slice(-3)).toEqual([ENABLE, "", "Fatal tsmalloc error: debugRawFree: bad trailing pad byte"]);
    const tracer = createTracemalloc(runtime);
    tracer.start(3);
    const q = runtime.objMalloc(16);
    tracer.stop();
    runtime.memory.u8[q + 16] = 0x78;
    expect(lines(corruption(() => runtime.objFree(q)).report).slice(-3)).toEqual([ENABLE, "", "Fatal tsmalloc error: debugRawFree: bad trailing pad byte"]);
  });

  it("prints nothing for a block the tracer did not trace (allocated before tracing started), as CPython", () => {
    const runtime = createRuntime({ allocator: "pymalloc_debug" });
    const p = runtime.objMalloc(16);
    const tracer = createTracemalloc(runtime);
    tracer.start();
    runtime.memory.u8[p + 16] = 0x78;
    expect(lines(corruption(() => runtime.objFree(p)).report).slice(-3)).toEqual([
      "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd",
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
    tracer.stop();
  });

  it("names where a block freed lately was allocated, for a use after free found at its next free (CPython prints nothing)", () => {
    const { runtime } = traced(1, { allocator: "debug" });
    const [p, line] = [runtime.memMalloc(16), here()];
    runtime.memFree(p);
    const report = lines(corruption(() => runtime.memFree(p)).report);
    expect(report.slice(-5)).toEqual([
      "",
      "Memory block allocated at (most recent call first):",
      `  File "${line.filename}", line ${line.lineno}`,
      "",
      "Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API '\\xdd', verified using API 'm'",
    ]);
    expect(report).not.toContain(ENABLE);
  });

  it("the newest free of an address wins; a live block at the address comes first", () => {
    const { runtime } = traced(1, { allocator: "malloc_debug" });
    const [p, first] = [runtime.memMalloc(16), here()];
    runtime.memFree(p);
    const [q, second] = [runtime.memMalloc(16), here()];
    expect(q).toBe(p); // the system malloc hands the same block back
    runtime.memory.u8[q + 16] = 0x78;
    expect(lines(corruption(() => runtime.memFree(q)).report).slice(-3, -2)).toEqual([`  File "${second.filename}", line ${second.lineno}`]);
    runtime.memory.u8[q + 16] = 0xfd;
    runtime.memFree(q);
    const [r, third] = [runtime.memMalloc(24), here()];
    runtime.memFree(r);
    const report = lines(corruption(() => runtime.memFree(r)).report);
    expect(report.slice(-3, -2)).toEqual([`  File "${third.filename}", line ${third.lineno}`]);
    expect(first.lineno).not.toBe(third.lineno);
  });

  it("prints nothing for a double free once FREED_BLOCKS frees have passed, or after clearTraces", () => {
    const { runtime, tracer } = traced(1, { allocator: "debug" });
    const keeper = runtime.memMalloc(16); // keeps the pool of p and q in use, and of their size class
    const p = runtime.memMalloc(16);
    const q = runtime.memMalloc(16);
    runtime.memFree(p);
    runtime.memFree(q);
    // blocks of other size classes, so that p's and q's blocks are not reused
    const others = new Set<number>();
    for (let i = 0; i < FREED_BLOCKS - 1; i++) {
      const other = runtime.memMalloc(100 + (i % 2) * 100);
      others.add(other);
      runtime.memFree(other);
    }
    expect(others.has(p) || others.has(q)).toBe(false);
    // q's free is the oldest one remembered; p's was the one before it
    expect(lines(corruption(() => runtime.memFree(q)).report)).toContain("Memory block allocated at (most recent call first):");
    const report = lines(corruption(() => runtime.memFree(p)).report);
    expect(report).not.toContain("Memory block allocated at (most recent call first):");
    expect(report).not.toContain(ENABLE);
    tracer.clearTraces();
    expect(lines(corruption(() => runtime.memFree(q)).report)).not.toContain("Memory block allocated at (most recent call first):");
    runtime.memFree(keeper);
  });

  it("asks the tracer of the block's runtime when two runtimes share a memory", () => {
    const memory = new LinearMemory();
    const a = createRuntime({ memory, allocator: "pymalloc_debug" });
    const b = createRuntime({ memory, allocator: "pymalloc_debug" });
    const tracerA = createTracemalloc(a);
    tracerA.start();
    const p = b.objMalloc(16);
    const [q, line] = [a.objMalloc(16), here()];
    memory.u8[p + 16] = 0x78;
    memory.u8[q + 16] = 0x78;
    // b is not traced: CPython's advice; a's block: its traceback
    expect(lines(corruption(() => b.objFree(p)).report).slice(-3, -2)).toEqual([ENABLE]);
    expect(lines(corruption(() => a.objFree(q)).report).slice(-3, -2)).toEqual([`  File "${line.filename}", line ${line.lineno}`]);
    const tracerB = createTracemalloc(b);
    tracerB.start();
    const [r, lineR] = [b.objMalloc(16), here()];
    memory.u8[r + 16] = 0x78;
    expect(lines(corruption(() => b.objFree(r)).report).slice(-3, -2)).toEqual([`  File "${lineR.filename}", line ${lineR.lineno}`]);
    tracerA.stop();
    tracerB.stop();
  });
});
