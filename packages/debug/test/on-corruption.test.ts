/*
 * What happens after a failed check (the onCorruption option): a DebugCorruptionError thrown
 * (the default), the report on stderr and exit status 134 (CPython's abort), or a handler after
 * which the failed call does nothing.
 */
import { fileURLToPath } from "node:url";
import { DebugCorruptionError, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, formatAddress, isTsmallocError, LinearMemory, TsmallocError } from "@tsmalloc/memory";
import { runExample } from "@tsmalloc/testkit";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bytesOf, corruption, ENABLE_TRACEMALLOC, expectBytesUnchanged, hexRun, hooked, leadingLines, lines, thrown, trailingLines } from "./helpers.ts";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('onCorruption: "throw" (the default)', () => {
  it("throws a DebugCorruptionError, a TsmallocError with code ERR_TSMALLOC_CORRUPTION", () => {
    const { hooks } = hooked({ api: "o" });
    const p = hooks.malloc(3);
    hooks.memory.u8[p + 3] = 0;
    const error = corruption(() => hooks.free(p));
    expect(error).toBeInstanceOf(TsmallocError);
    expect(error).toBeInstanceOf(Error);
    expect(isTsmallocError(error, ErrorCode.Corruption)).toBe(true);
    expect(error.name).toBe("DebugCorruptionError");
    expect(String(error)).toBe("DebugCorruptionError: debugRawFree: bad trailing pad byte");
    expect({ address: error.address, api: error.api, func: error.func }).toEqual({ address: p, api: "o", func: "debugRawFree" });
  });

  it("reports usableSize of a damaged block as debugUsableSize", () => {
    const { hooks } = hooked();
    const p = hooks.malloc(3);
    hooks.memory.u8[p - 2] = 0;
    expect(corruption(() => hooks.usableSize(p)).message).toBe("debugUsableSize: bad leading pad byte");
  });
});

describe("onCorruption: a handler", () => {
  it("receives the error; the failed free then leaves the block alone, realloc and usableSize return 0", () => {
    const errors: DebugCorruptionError[] = [];
    const { heap, hooks } = hooked({ api: "m", onCorruption: (error) => errors.push(error) });
    const p = hooks.malloc(16);
    hooks.memory.u8[p + 16] = 0x78;
    const before = bytesOf(hooks.memory);
    hooks.free(p);
    expect(hooks.realloc(p, 1000)).toBe(0);
    expect(hooks.usableSize(p)).toBe(0);
    expectBytesUnchanged(hooks.memory, before);
    expect(errors.map((e) => e.message)).toEqual([
      "debugRawFree: bad trailing pad byte",
      "debugRawRealloc: bad trailing pad byte",
      "debugUsableSize: bad trailing pad byte",
    ]);
    expect(lines(errors[0]!.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    16 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(p + 16, new Map([[0, 0x78]])),
      `    Data at p: ${hexRun(0xcd, 16)}`,
      "",
      ENABLE_TRACEMALLOC,
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
    // repaired, the block frees normally
    hooks.memory.u8[p + 16] = 0xfd;
    hooks.free(p);
    expect(heap.stats().allocatedBlocks).toBe(1);
  });

  it("may throw, and then the call throws that", () => {
    const { hooks } = hooked({
      onCorruption: (error) => {
        throw new Error(`handled: ${error.func}`);
      },
    });
    const p = hooks.malloc(1);
    hooks.memory.u8[p + 1] = 1;
    expect(() => hooks.free(p)).toThrow("handled: debugRawFree");
  });
});

describe('onCorruption: "abort"', () => {
  it("writes the report to stderr and ends the process with status 134, as CPython's fatal error does", { timeout: 60_000 }, async () => {
    const run = await runExample(fileURLToPath(new URL("./fixtures/abort.ts", import.meta.url)));
    expect(run.exitCode).toBe(134);
    const p = Number(run.stdout.trim());
    expect(run.stdout).toBe(`${p}\n`);
    expect(lines(run.stderr)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    16 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(p + 16, new Map([[0, 0x78]])),
      `    Data at p: ${hexRun(0xcd, 16)}`,
      "",
      ENABLE_TRACEMALLOC,
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
  });

  it("writes and exits through process (checked here with stand-ins for it)", () => {
    const written: string[] = [];
    const exit = vi.fn((code: number) => {
      throw new Error(`exit ${code}`);
    });
    const { hooks } = hooked({ onCorruption: "abort" });
    const p = hooks.malloc(2);
    hooks.memory.u8[p + 2] = 0;
    vi.stubGlobal("process", { stderr: { write: (text: string) => written.push(text) }, exit });
    const error = thrown(() => hooks.free(p));
    vi.unstubAllGlobals();
    expect(String(error)).toBe("Error: exit 134");
    expect(exit).toHaveBeenCalledWith(134);
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith("Fatal tsmalloc error: debugRawFree: bad trailing pad byte\n")).toBe(true);
  });

  it("throws instead where there is no process (a browser)", () => {
    const memory = new LinearMemory();
    const hooks = withDebugHooks(new Malloc(memory), { onCorruption: "abort", api: "m" });
    const p = hooks.malloc(2);
    memory.u8[p + 2] = 0;
    vi.stubGlobal("process", undefined);
    const error = thrown(() => hooks.free(p));
    vi.unstubAllGlobals();
    expect(error).toBeInstanceOf(DebugCorruptionError);
    expect((error as DebugCorruptionError).message).toBe("debugRawFree: bad trailing pad byte");
  });
});
