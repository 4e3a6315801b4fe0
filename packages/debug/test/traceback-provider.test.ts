/*
 * The report's traceback part from a registered provider (what @tsmalloc/tracemalloc registers
 * while it traces), as CPython's `_PyMem_DumpTraceback` asks tracemalloc: the provider's frames;
 * nothing when it traces but did not trace the block; the advice to enable tracemalloc when no
 * provider traces. The hooks' own `tracebacks` option comes first.
 */
import { registerTracebackProvider, type TracebackFrame, type TracebackProvider } from "@tsmalloc/debug";
import { ErrorCode, LinearMemory } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { corruption, ENABLE_TRACEMALLOC, expectError, hooked, lines } from "./helpers.ts";

const FRAMES: readonly TracebackFrame[] = [
  { file: "/app/parse.js", line: 12 },
  { file: "/app/main.js", line: 3 },
];

/** A provider that traced the blocks in `traced` with FRAMES, or answers `answer` for the rest. */
function provider(traced: readonly number[], answer: null | undefined = undefined): TracebackProvider & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    allocationTraceback(address: number) {
      asked.push(address);
      return traced.includes(address) ? FRAMES : answer;
    },
  };
}

/** The report of an overflow of a 16-byte MEM block made by `hooks`. */
function overflowReport(hooks: ReturnType<typeof hooked>["hooks"], p: number): string[] {
  hooks.memory.u8[p + 16] = 0x78;
  const report = lines(corruption(() => hooks.free(p)).report);
  hooks.memory.u8[p + 16] = 0xfd;
  return report;
}

describe("registerTracebackProvider", () => {
  it("puts the provider's frames where CPython puts tracemalloc's, most recent call first", () => {
    const { hooks } = hooked({ api: "m" });
    const p = hooks.malloc(16);
    const unregister = registerTracebackProvider(hooks.memory, provider([p]));
    expect(overflowReport(hooks, p).slice(-7)).toEqual([
      "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd",
      "",
      "Memory block allocated at (most recent call first):",
      '  File "/app/parse.js", line 12',
      '  File "/app/main.js", line 3',
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
    expect(hooks.dump(p).endsWith('  File "/app/main.js", line 3\n\n')).toBe(true);
    unregister();
    unregister(); // again: nothing
    expect(overflowReport(hooks, p).slice(-3)).toEqual([ENABLE_TRACEMALLOC, "", "Fatal tsmalloc error: debugRawFree: bad trailing pad byte"]);
  });

  it("prints nothing when the provider traces but did not trace the block, and the advice when it does not trace", () => {
    const { hooks } = hooked({ api: "o" });
    const p = hooks.malloc(16);
    const tracing = registerTracebackProvider(hooks.memory, provider([]));
    expect(overflowReport(hooks, p).slice(-3)).toEqual(["    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd", "", "Fatal tsmalloc error: debugRawFree: bad trailing pad byte"]);
    tracing();
    const stopped = registerTracebackProvider(hooks.memory, provider([], null));
    expect(overflowReport(hooks, p).slice(-3, -2)).toEqual([ENABLE_TRACEMALLOC]);
    stopped();
  });

  it("asks for the block's data address, then for the address the wrapped allocator handed out (a tracer under the hooks)", () => {
    const { hooks } = hooked({ api: "m" });
    const p = hooks.malloc(16);
    const inner = provider([p - 16]);
    const unregister = registerTracebackProvider(hooks.memory, inner);
    expect(overflowReport(hooks, p)).toContain('  File "/app/parse.js", line 12');
    expect(inner.asked).toEqual([p, p - 16]);
    unregister();
  });

  it("asks a header lower on the wasm32 layout too (8 bytes there)", () => {
    const { hooks } = hooked({ api: "m", layout: "wasm32" });
    const p = hooks.malloc(16);
    const inner = provider([p - 8]);
    const unregister = registerTracebackProvider(hooks.memory, inner);
    hooks.memory.u8[p + 16] = 0x78;
    expect(lines(corruption(() => hooks.free(p)).report)).toContain('  File "/app/parse.js", line 12');
    expect(inner.asked).toEqual([p, p - 8]);
    unregister();
  });

  it("takes the first provider that traced the block; one that throws counts as not tracing", () => {
    const { hooks } = hooked({ api: "m" });
    const p = hooks.malloc(16);
    const throwing: TracebackProvider = {
      allocationTraceback() {
        throw new Error("broken provider");
      },
    };
    const a = registerTracebackProvider(hooks.memory, throwing);
    expect(overflowReport(hooks, p).slice(-3, -2)).toEqual([ENABLE_TRACEMALLOC]);
    const b = registerTracebackProvider(hooks.memory, provider([], undefined));
    const c = registerTracebackProvider(hooks.memory, provider([p]));
    expect(overflowReport(hooks, p)).toContain("Memory block allocated at (most recent call first):");
    a();
    b();
    c();
  });

  it("is per memory: a provider of another memory is not asked", () => {
    const { hooks } = hooked({ api: "m" });
    const p = hooks.malloc(16);
    const other = provider([p]);
    const unregister = registerTracebackProvider(new LinearMemory(), other);
    expect(overflowReport(hooks, p).slice(-3, -2)).toEqual([ENABLE_TRACEMALLOC]);
    expect(other.asked).toEqual([]);
    unregister();
  });

  it("yields to the hooks' own tracebacks option when it has the block", () => {
    const { hooks } = hooked({ api: "m", tracebacks: 1 });
    const p = hooks.malloc(16);
    const unregister = registerTracebackProvider(hooks.memory, provider([p]));
    const report = overflowReport(hooks, p);
    expect(report).not.toContain('  File "/app/parse.js", line 12');
    expect(report.at(-3)).toMatch(/traceback-provider\.test\.ts", line \d+$/);
    unregister();
  });

  it("refuses what is not a LinearMemory and a provider", () => {
    const { hooks } = hooked();
    expectError(() => registerTracebackProvider({} as never, provider([])), ErrorCode.InvalidOption);
    expectError(() => registerTracebackProvider(hooks.memory, {} as never), ErrorCode.InvalidOption);
    expectError(() => registerTracebackProvider(hooks.memory, null as never), ErrorCode.InvalidOption);
  });
});
