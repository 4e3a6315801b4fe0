/*
 * The scenarios of CPython's Lib/test/test_capi/test_mem.py (PyMemDebugTests), as tsmalloc runs
 * them: the hooks around @tsmalloc/malloc, and every report checked line by line. CPython runs
 * each scenario in a child process and reads its stderr; here the default onCorruption ("throw")
 * hands over the same report in the error (on-corruption.test.ts runs the "abort" form in a child
 * process, as CPython does).
 */
import { DebugAllocator, isFreed, withDebugHooks } from "@tsmalloc/debug";
import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, formatAddress, LinearMemory } from "@tsmalloc/memory";
import { firstMessage, startWorker } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import type { ForeignJob, ForeignReport } from "./fixtures/foreign-thread.ts";
import { corruption, ENABLE_TRACEMALLOC, expectHeapOk, hexRun, hooked, leadingLines, lines, trailingLines } from "./helpers.ts";

describe("test_buffer_overflow: one byte written past the end of a PyMem_Malloc(16) block", () => {
  it("is reported on free as a bad trailing pad byte, with the dump CPython prints", () => {
    const { heap, hooks: mem } = hooked({ api: "m" });
    const p = mem.malloc(16);
    mem.memory.u8[p + 16] = "x".charCodeAt(0);
    const error = corruption(() => mem.free(p));
    // the text CPython 3.11 printed for _testcapi.pymem_buffer_overflow(), with our names
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    16 bytes originally requested",
      "    The 7 pad bytes at p-7 are FORBIDDENBYTE, as expected.",
      `    The 8 pad bytes at tail=${formatAddress(p + 16)} are not all FORBIDDENBYTE (0xfd):`,
      "        at tail+0: 0x78 *** OUCH",
      "        at tail+1: 0xfd",
      "        at tail+2: 0xfd",
      "        at tail+3: 0xfd",
      "        at tail+4: 0xfd",
      "        at tail+5: 0xfd",
      "        at tail+6: 0xfd",
      "        at tail+7: 0xfd",
      "    Data at p: cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd",
      "",
      "Enable tracemalloc to get the memory block allocation traceback",
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ]);
    expect(error.code).toBe(ErrorCode.Corruption);
    expect(error.message).toBe("debugRawFree: bad trailing pad byte");
    expect(error.func).toBe("debugRawFree");
    expect(error.api).toBe("m");
    expect(error.address).toBe(p);
    // the block was left alone: still allocated, still reporting
    expect(corruption(() => mem.free(p)).report).toBe(error.report);
    expectHeapOk(heap);
  });

  it("is reported the same way through RAW and OBJ hooks, with their id", () => {
    for (const api of ["r", "o"] as const) {
      const { hooks } = hooked({ api });
      const p = hooks.malloc(16);
      hooks.memory.u8[p + 16] = 0x78;
      const report = lines(corruption(() => hooks.free(p)).report);
      expect(report[0]).toBe(`Debug memory block at address p=${formatAddress(p)}: API '${api}'`);
      expect(report.at(-1)).toBe("Fatal tsmalloc error: debugRawFree: bad trailing pad byte");
    }
  });
});

describe("test_api_misuse: a PyMem_Malloc block freed with PyMem_RawFree", () => {
  it("is reported as bad ID, with both pads intact", () => {
    const heap = new Malloc(new LinearMemory());
    const raw = withDebugHooks(heap, { api: "r" });
    const mem = withDebugHooks(heap, { api: "m" });
    const p = mem.malloc(16);
    const error = corruption(() => raw.free(p));
    expect(lines(error.report)).toEqual([
      `Debug memory block at address p=${formatAddress(p)}: API 'm'`,
      "    16 bytes originally requested",
      ...leadingLines(),
      ...trailingLines(p + 16),
      `    Data at p: ${hexRun(0xcd, 16)}`,
      "",
      ENABLE_TRACEMALLOC,
      "",
      "Fatal tsmalloc error: debugRawFree: bad ID: Allocated using API 'm', verified using API 'r'",
    ]);
    expect(error.message).toBe("debugRawFree: bad ID: Allocated using API 'm', verified using API 'r'");
    expect(error.api).toBe("m");
    // the right API frees it
    mem.free(p);
    expectHeapOk(heap);
  });

  it("is reported for every pair of different APIs, and on realloc as debugRawRealloc", () => {
    const heap = new Malloc(new LinearMemory());
    const apis = ["r", "m", "o"] as const;
    const hooks = Object.fromEntries(apis.map((api) => [api, withDebugHooks(heap, { api })]));
    for (const from of apis) {
      for (const to of apis) {
        if (from === to) continue;
        const p = hooks[from]!.malloc(8);
        const freeError = corruption(() => hooks[to]!.free(p));
        expect(freeError.message).toBe(`debugRawFree: bad ID: Allocated using API '${from}', verified using API '${to}'`);
        const reallocError = corruption(() => hooks[to]!.realloc(p, 100));
        expect(reallocError.message).toBe(`debugRawRealloc: bad ID: Allocated using API '${from}', verified using API '${to}'`);
        expect(lines(reallocError.report).at(-1)).toBe(`Fatal tsmalloc error: ${reallocError.message}`);
        hooks[from]!.free(p);
      }
    }
    expectHeapOk(heap);
  });
});

describe("test_pymem_malloc_without_gil / test_pyobject_malloc_without_gil: a call from a thread that does not own the heap", () => {
  it("fails in MEM and OBJ hooks with CPython's fatal error, and RAW hooks work in any thread", { timeout: 60_000 }, async () => {
    const memory = new LinearMemory({ shared: true });
    const heap = new Malloc(memory);
    const raw = withDebugHooks(heap, { api: "r" });
    const mem = withDebugHooks(heap, { api: "m" });
    const obj = withDebugHooks(heap, { api: "o" });
    const job: ForeignJob = { source: memory.source, raw: raw.stateAddress, mem: mem.stateAddress, obj: obj.stateAddress };
    const worker = startWorker(new URL("./fixtures/foreign-thread.ts", import.meta.url), job);
    let report: ForeignReport;
    try {
      report = await firstMessage<ForeignReport>(worker);
    } finally {
      await worker.terminate();
    }
    const message = "tsmalloc memory allocator called from a thread that does not own the heap";
    expect(report.memMalloc).toEqual({
      code: ErrorCode.WrongThread,
      message: `debugMalloc: ${message}`,
      report: `Fatal tsmalloc error: debugMalloc: ${message}\n`,
      func: "debugMalloc",
      api: "m",
      address: 0,
      isCorruptionError: true,
    });
    expect(report.memCalloc.report).toBe(`Fatal tsmalloc error: debugCalloc: ${message}\n`);
    expect(report.memRealloc.report).toBe(`Fatal tsmalloc error: debugRealloc: ${message}\n`);
    // CPython checks the GIL before it looks at the pointer, so even free(NULL) fails
    expect(report.memFree.report).toBe(`Fatal tsmalloc error: debugFree: ${message}\n`);
    // PyObject_Malloc goes through _PyMem_DebugMalloc too
    expect(report.objMalloc).toMatchObject({ code: ErrorCode.WrongThread, func: "debugMalloc", api: "o" });
    // a handler gets the same error, and the refused call does nothing
    expect(report.handled).toEqual([`debugMalloc: ${message}`, `debugFree: ${message}`]);
    // checkThread: false lets the worker use MEM hooks
    expect(report.memUnchecked.result).toBeGreaterThan(0);
    expect(report.names).toBe("malloc_debug malloc_debug malloc_debug");

    // the RAW block the worker made is whole, intact (the refused free left it) and ours to free
    const p = report.rawBlock;
    expect(memory.u8[p - 8]).toBe("r".charCodeAt(0));
    expect(raw.usableSize(p)).toBe(24);
    expect([...memory.u8.subarray(p, p + 24)].every((b) => b === 0x5a)).toBe(true);
    raw.free(p);
    // the owner thread is not refused
    mem.free(mem.malloc(10));
    obj.free(obj.malloc(10));
    expectHeapOk(heap);
  });

  it("lets MEM hooks attached again in the owner thread work as the owner", () => {
    const heap = new Malloc(new LinearMemory());
    const mem = withDebugHooks(heap, { api: "m" });
    const again = DebugAllocator.attach(heap, mem.stateAddress);
    const p = again.malloc(10);
    mem.free(p);
  });
});

describe("the is-freed checks (check_pyobject_*_is_freed): _PyObject_IsFreed on a 64-bit PyObject", () => {
  // a PyObject: an 8-byte reference count, then the 8-byte type pointer at +8
  const PYOBJECT_SIZE = 16;
  const TYPE_OFFSET = 8;

  it("test_pyobject_null_is_freed: NULL is seen as freed", () => {
    const { hooks } = hooked({ api: "o" });
    expect(hooks.isFreed(0)).toBe(true);
    expect(isFreed(hooks.memory, 0)).toBe(true);
  });

  it("test_pyobject_uninitialized_is_freed: a new block's type slot reads 0xCDCD...", () => {
    const { hooks } = hooked({ api: "o" });
    const op = hooks.malloc(PYOBJECT_SIZE);
    hooks.memory.dataView.setBigUint64(op, 1n, true); // ob_refcnt = 1
    expect(hooks.memory.dataView.getBigUint64(op + TYPE_OFFSET, true)).toBe(0xcdcdcdcdcdcdcdcdn);
    expect(hooks.isFreed(op)).toBe(true);
  });

  it("test_pyobject_forbidden_bytes_is_freed: a block too small for the type slot has the pad there", () => {
    const { hooks } = hooked({ api: "o" });
    const op = hooks.malloc(TYPE_OFFSET); // offsetof(PyObject, ob_type)
    hooks.memory.dataView.setBigUint64(op, 1n, true);
    expect(hooks.memory.dataView.getBigUint64(op + TYPE_OFFSET, true)).toBe(0xfdfdfdfdfdfdfdfdn);
    expect(hooks.isFreed(op)).toBe(true);
  });

  it("test_pyobject_freed_is_freed: a freed object's type slot reads 0xDDDD...", () => {
    const { heap, hooks } = hooked({ api: "o" });
    const op = hooks.malloc(PYOBJECT_SIZE);
    const view = hooks.memory.dataView;
    view.setBigUint64(op, 1n, true);
    view.setBigUint64(op + TYPE_OFFSET, 0x12340n, true); // a live object with a type
    expect(hooks.isFreed(op)).toBe(false);
    hooks.free(op); // tp_dealloc
    view.setBigUint64(op, 1n, true); // the test then sets the reference count back to 1
    expect(hooks.memory.dataView.getBigUint64(op + TYPE_OFFSET, true)).toBe(0xddddddddddddddddn);
    expect(hooks.isFreed(op)).toBe(true);
    // the wrapped allocator's free-list link lands on the debug header, not on ob_type
    expect(heap.check().ok).toBe(true);
  });
});
