import { type Allocator, assertHeapValid, ErrorCode, type HeapCheck, type HeapProblem, LinearMemory, MAX_MEMORY_BYTES, MAX_PAGES, NULL, PAGE_SHIFT, PAGE_SIZE } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectError } from "./support.ts";

/** A do-nothing allocator whose check() reports `problems`. */
function fakeAllocator(problems: HeapProblem[] | null): Allocator {
  const allocator: Allocator = {
    name: "fake",
    memory: new LinearMemory({ buffer: new ArrayBuffer(PAGE_SIZE) }),
    malloc: () => 0,
    calloc: () => 0,
    realloc: () => 0,
    free: () => undefined,
  };
  if (problems !== null) allocator.check = (): HeapCheck => ({ ok: problems.length === 0, problems });
  return allocator;
}

describe("constants", () => {
  it("fix the page size and the largest address space", () => {
    expect(NULL).toBe(0);
    expect(PAGE_SIZE).toBe(65536);
    expect(1 << PAGE_SHIFT).toBe(PAGE_SIZE);
    expect(MAX_PAGES).toBe(65535);
    expect(MAX_MEMORY_BYTES).toBe(2 ** 32 - PAGE_SIZE);
  });
});

describe("assertHeapValid", () => {
  it("returns when check() finds nothing", () => {
    expect(assertHeapValid(fakeAllocator([]))).toBeUndefined();
  });

  it("throws ERR_TSMALLOC_CORRUPTION listing every problem, at the first one's address", () => {
    const error = expectError(
      () => assertHeapValid(fakeAllocator([{ address: 0x20, message: "size mismatch" }, { address: 0x1000, message: "loop in free list" }])),
      ErrorCode.Corruption,
    );
    expect(error.address).toBe(0x20);
    expect(error.message).toBe("fake: heap check found 2 problem(s):\n  0x20: size mismatch\n  0x1000: loop in free list");
  });

  it("throws ERR_TSMALLOC_INVALID_OPTION for an allocator without check()", () => {
    const error = expectError(() => assertHeapValid(fakeAllocator(null)), ErrorCode.InvalidOption);
    expect(error.message).toContain('"fake"');
  });
});
