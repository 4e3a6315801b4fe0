/*
 * Allocation tracebacks (the `tracebacks` option), the hooks' stand-in for tracemalloc: each
 * block remembers the JavaScript stack that allocated it, and a report prints it as CPython's
 * `_PyMem_DumpTraceback` does.
 */
import { fileURLToPath } from "node:url";
import { DebugAllocator, MAX_TRACEBACK_FRAMES } from "@tsmalloc/debug";
import { formatAddress } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { corruption, ENABLE_TRACEMALLOC, hooked, leadingLines, lines, trailingLines } from "./helpers.ts";

const FILE = fileURLToPath(import.meta.url);

/** The line of the code that calls this, as the stack reports it. */
function lineHere(): number {
  const frames = new Error().stack!.split("\n").filter((l) => l.includes("tracebacks.test.ts"));
  return Number(/:(\d+):\d+\)?$/.exec(frames[1]!)![1]);
}

describe("allocation tracebacks", () => {
  it("are off by default: the report says to enable tracemalloc", () => {
    const { hooks } = hooked({ api: "m" });
    const p = hooks.malloc(16);
    expect(hooks.allocationTraceback(p)).toBeNull();
    hooks.memory.u8[p + 16] = 0;
    const report = lines(corruption(() => hooks.free(p)).report);
    expect(report.slice(-4)).toEqual(["", ENABLE_TRACEMALLOC, "", "Fatal tsmalloc error: debugRawFree: bad trailing pad byte"]);
  });

  it("print where the block was allocated, most recent call first, N frames", () => {
    const { hooks } = hooked({ api: "m", tracebacks: 3 });
    const lines3: number[] = [];
    const inner = (): number => {
      const [p, line] = [hooks.malloc(16), lineHere()];
      lines3.push(line);
      return p;
    };
    const middle = (): number => {
      const [p, line] = [inner(), lineHere()];
      lines3.push(line);
      return p;
    };
    const [p, line] = [middle(), lineHere()];
    lines3.push(line);
    hooks.memory.u8[p + 16] = 0x78;
    const error = corruption(() => hooks.free(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    16 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(p + 16, new Map([[0, 0x78]])),
      "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd",
      "",
      "Memory block allocated at (most recent call first):",
      ...lines3.map((n) => `  File "${FILE}", line ${n}`),
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
    expect(hooks.allocationTraceback(p)).toEqual(lines3.map((n) => ({ file: FILE, line: n })));
  });

  it("start at the caller of malloc, calloc and realloc, never inside the hooks", () => {
    const { hooks } = hooked({ tracebacks: 1 });
    const [a, lineA] = [hooks.malloc(1), lineHere()];
    const [b, lineB] = [hooks.calloc(2, 2), lineHere()];
    const [c, lineC] = [hooks.realloc(0, 3), lineHere()];
    expect(hooks.allocationTraceback(a)).toEqual([{ file: FILE, line: lineA }]);
    expect(hooks.allocationTraceback(b)).toEqual([{ file: FILE, line: lineB }]);
    expect(hooks.allocationTraceback(c)).toEqual([{ file: FILE, line: lineC }]);
    // realloc makes a new trace for the new block
    const [d, lineD] = [hooks.realloc(a, 5000), lineHere()];
    expect(hooks.allocationTraceback(d)).toEqual([{ file: FILE, line: lineD }]);
    if (d !== a) expect(hooks.allocationTraceback(a)).toBeNull();
    // free forgets it
    hooks.free(d);
    expect(hooks.allocationTraceback(d)).toBeNull();
    expect(hooks.dump(b).endsWith(`Memory block allocated at (most recent call first):\n  File "${FILE}", line ${lineB}\n\n`)).toBe(true);
  });

  it("keep at most the frames asked for, up to 100", () => {
    const { hooks } = hooked({ tracebacks: MAX_TRACEBACK_FRAMES });
    const deep = (depth: number): number => (depth === 0 ? hooks.malloc(1) : deep(depth - 1));
    const p = deep(150);
    expect(hooks.allocationTraceback(p)!.length).toBe(MAX_TRACEBACK_FRAMES);
    const { hooks: two } = hooked({ tracebacks: 2 });
    const q = ((): number => two.malloc(1))();
    expect(two.allocationTraceback(q)!.length).toBe(2);
  });

  it("are shared by every handle of this thread on the same hooks", () => {
    const { heap, hooks } = hooked({ api: "o", tracebacks: 3 });
    const other = DebugAllocator.attach(heap, hooks.stateAddress, { tracebacks: 3 });
    const quiet = DebugAllocator.attach(heap, hooks.stateAddress);
    const [p, line] = [hooks.malloc(8), lineHere()];
    expect(other.allocationTraceback(p)![0]).toEqual({ file: FILE, line });
    expect(quiet.allocationTraceback(p)).toBeNull(); // its own tracebacks are off
    expect(quiet.dump(p).endsWith(`${ENABLE_TRACEMALLOC}\n\n`)).toBe(true);
    // freed through a handle with tracebacks off, the block is forgotten by all
    quiet.free(p);
    expect(hooks.allocationTraceback(p)).toBeNull();
    expect(other.allocationTraceback(p)).toBeNull();
  });

  it("print nothing for a block these hooks did not allocate (another thread's), as tracemalloc prints nothing for an untraced block", () => {
    const { heap, hooks } = hooked({ api: "o" });
    const traced = DebugAllocator.attach(heap, hooks.stateAddress, { tracebacks: 5 });
    const p = hooks.malloc(8);
    hooks.memory.u8[p - 1] = 0;
    const report = lines(corruption(() => traced.free(p)).report);
    expect(report.slice(-3)).toEqual([`    Data at p: cd cd cd cd cd cd cd cd`, "", "Fatal tsmalloc error: debugRawFree: bad leading pad byte"]);
  });

  it("are not kept for failed allocations", () => {
    const { hooks } = hooked({ tracebacks: 4 });
    expect(hooks.malloc(2 ** 40)).toBe(0);
    expect(hooks.allocationTraceback(0)).toBeNull();
  });
});
