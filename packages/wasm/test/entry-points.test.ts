/*
 * Every function of the shim, called from C (test/fixtures/entry-points.c) with the values at the
 * edges: sizes of 2^31 and more (negative i32s on arrival), overflowing products, NULL, alignments
 * that are not powers of two, and the domain each CPython entry point reaches.
 */
import { DebugCorruptionError } from "@tsmalloc/debug";
import { ErrorCode, isTsmallocError } from "@tsmalloc/memory";
import { Domain } from "@tsmalloc/registry";
import { describe, expect, it } from "vitest";
import { fixtureBytes, runProgram } from "./helpers.ts";

const CHECKS = [
  "malloc(0) gives distinct non-NULL pointers",
  "malloc(3 GiB) is NULL with ENOMEM",
  "malloc(2 GiB) is NULL with ENOMEM",
  "malloc(SIZE_MAX) is NULL with ENOMEM",
  "calloc whose product overflows 32 bits is NULL",
  "calloc(100, 3) is zeroed",
  "realloc to 5000 bytes keeps the first 300",
  "realloc to 10 bytes keeps the first 10",
  "realloc to 3.75 GiB is NULL and leaves the block",
  "realloc(p, 0) keeps a zero-sized block",
  "realloc(NULL, 24) is malloc(24)",
  "malloc_usable_size(p) >= the size asked for",
  "malloc_usable_size(NULL) is 0",
  "free(NULL) does nothing",
  "aligned_alloc(64, 100) is 64-byte aligned",
  "malloc_usable_size of an aligned block >= 100",
  "realloc of an aligned block keeps its contents",
  "aligned_alloc(65536, 10) is 64 KiB aligned",
  "aligned_alloc(8, 10) is 8-byte aligned",
  "aligned_alloc(48, ...) is NULL with EINVAL",
  "aligned_alloc(2 GiB, ...) is NULL with ENOMEM",
  "posix_memalign(2) is EINVAL, *memptr untouched",
  "posix_memalign(24) is EINVAL",
  "posix_memalign(4096, 10) is page-aligned",
  "posix_memalign of 3.75 GiB is ENOMEM",
  "strdup uses the shim's malloc",
  "atexit (wasi-libc's __libc_calloc) works",
  "sbrk(0) is __heap_base",
  "sbrk(4096) fails with ENOMEM",
  "PyMem_RawMalloc, PyMem_RawRealloc, PyMem_RawCalloc",
  "PyMem_Malloc, PyMem_Realloc, PyMem_Calloc",
  "PyObject_Malloc, PyObject_Realloc, PyObject_Calloc",
  "PyMem_RawMalloc(2 GiB) is NULL",
  "PyObject_Calloc whose product overflows is NULL",
  "PyMem_New(int, 4)",
  "PyMem_Resize(ints, int, 1000)",
  "PyMem_New(int, 2^30) is NULL (it would exceed PY_SSIZE_T_MAX)",
];

describe("the shim's functions, from C", () => {
  it.each(["default", "malloc", "pymalloc_debug", "malloc_debug"])("behave as C and CPython say under %s", async (allocator) => {
    const run = await runProgram(fixtureBytes("entry-points"), { allocator, args: ["all"], count: true });
    expect(run.error).toBeNull();
    expect(run.stdout).toBe(`${CHECKS.map((check) => `ok ${check}\n`).join("")}done\natexit handler ran\n`);
    expect(run.status).toBe(0);
    // the blocks each domain handed out were all given back (MEM: but for argv's two)
    expect(run.hooks[Domain.MEM].live).toBe(2);
    expect(run.hooks[Domain.OBJ].live).toBe(0);
    expect(run.instance.runtime.check().ok).toBe(true);
  });

  it("route PyMem_Raw*, PyMem_* and PyObject_* to RAW, MEM and OBJ", async () => {
    // under malloc the three domains are the one heap, so each hook counts only what C sent it
    const run = await runProgram(fixtureBytes("entry-points"), { allocator: "malloc", args: ["all"], count: true });
    // RAW: malloc, realloc, calloc, free × 2, and the refused 2 GiB malloc (0 without a call)
    expect(run.hooks[Domain.RAW].calls).toBe(5);
    // OBJ: the same five, the refused calloc never reaches the allocator
    expect(run.hooks[Domain.OBJ].calls).toBe(5);
  });

  it("catch a MEM block freed through OBJ under the debug hooks, as CPython does", async () => {
    const run = await runProgram(fixtureBytes("entry-points"), { allocator: "pymalloc_debug", args: ["wrong-domain"] });
    expect(run.error).toBeInstanceOf(DebugCorruptionError);
    expect((run.error as Error).message).toBe("debugRawFree: bad ID: Allocated using API 'm', verified using API 'o'");
    expect(run.stdout).toBe("");
  });

  it.each([
    ["default", ErrorCode.InvalidPointer, "it points 8 bytes into the 64-byte block"],
    ["malloc", ErrorCode.InvalidPointer, "is not 16-byte aligned"],
    ["pymalloc_debug", ErrorCode.Corruption, "bad ID: Allocated using API '\\xcd', verified using API 'm'"],
  ])("stop the program at a free of a pointer into a block under %s", async (allocator, code, message) => {
    const run = await runProgram(fixtureBytes("entry-points"), { allocator, args: ["bad-free"] });
    expect(isTsmallocError(run.error, code)).toBe(true);
    expect((run.error as Error).message).toContain(message);
    expect(run.stdout).toBe("");
    expect(run.instance.runtime.check().ok).toBe(true);
  });

  it("see NULL and ENOMEM when fault injection refuses a call", async () => {
    let out = "";
    const { instantiate } = await import("../src/index.ts");
    const instance = await instantiate(fixtureBytes("entry-points"), { allocator: "default", wasi: { host: "minimal", args: ["ep", "nomem"], stdout: (text) => (out += text) } });
    instance.runtime.setNoMemory(10); // argv, the first blocks, then NULL
    expect(instance.start()).toBe(0);
    expect(out).toMatch(/^got \d blocks of 1 MiB, then NULL with errno ENOMEM\n$/);
    instance.runtime.removeMemHooks();
  });
});
