import { Malloc } from "@tsmalloc/malloc";
import { ErrorCode, LinearMemory, RegionOwner } from "@tsmalloc/memory";
import { beforeEach, describe, expect, it } from "vitest";
import { expectError, expectHeapOk, expectUnchanged, fill, MiB, regionsOf, snapshot } from "./helpers.ts";

const badSizes: unknown[] = [NaN, Infinity, -Infinity, -1, -(2 ** 40), 1.5, 2 ** 32 + 0.5, "16", 16n, undefined, null, {}, [16]];
const badPointers: unknown[] = [NaN, -16, -1, 1.5, "16", 16n, undefined, null, {}, 2 ** 32, 2 ** 40, Infinity, -Infinity];

/**
 * A heap with live blocks of every kind, a second heap and foreign regions in the same memory,
 * and a second segment (the other heap's segment sits right after the first one).
 */
interface Scene {
  memory: LinearMemory;
  heap: Malloc;
  other: Malloc;
  small: number[];
  large: number;
  segment2: number;
  foreign: number;
  arena: number;
}

function scene(): Scene {
  const memory = new LinearMemory();
  const heap = new Malloc(memory);
  const other = new Malloc(memory);
  const small = [100, 200, 300, 5000].map((n) => heap.malloc(n));
  small.forEach((p, i) => fill(memory, p, 100, 0x61 + i));
  const large = heap.malloc(2 * MiB);
  fill(memory, large, 2 * MiB, 0x70);
  // does not fit the rest of the first segment, which cannot grow in place
  const big = heap.malloc(300_000);
  const segments = regionsOf(memory, RegionOwner.Malloc).filter((r) => heap.owns(r.address + 64));
  expect(segments).toHaveLength(2);
  const segment2 = segments.find((r) => big >= r.address && big < r.address + r.size)!.address;
  const foreign = memory.map(65536);
  const arena = memory.map(65536, { owner: RegionOwner.Arena });
  return { memory, heap, other, small, large, segment2, foreign, arena };
}

/** Calls `fn` on the heap and expects `code` (and `address`), with the heap unchanged after. */
function refused(heap: Malloc, fn: () => unknown, code: ErrorCode, address?: number): void {
  const before = snapshot(heap);
  expectError(fn, code, address);
  expectUnchanged(heap, before);
}

/** Each of free, realloc and usableSize refuses `p` with `code`, naming it. */
function refusedEverywhere(heap: Malloc, p: number, code: ErrorCode): void {
  refused(heap, () => heap.free(p), code, p);
  refused(heap, () => heap.realloc(p, 100), code, p);
  refused(heap, () => heap.realloc(p, 0), code, p);
  refused(heap, () => heap.realloc(p, 4 * MiB), code, p);
  refused(heap, () => heap.usableSize(p), code, p);
}

describe("bad sizes", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("throw ERR_TSMALLOC_INVALID_SIZE from every allocating call and change nothing", () => {
    const { heap } = s;
    const p = s.small[0]!;
    for (const size of badSizes) {
      const n = size as number;
      refused(heap, () => heap.malloc(n), ErrorCode.InvalidSize);
      refused(heap, () => heap.calloc(n, 1), ErrorCode.InvalidSize);
      refused(heap, () => heap.calloc(1, n), ErrorCode.InvalidSize);
      refused(heap, () => heap.calloc(n, 0), ErrorCode.InvalidSize);
      refused(heap, () => heap.realloc(p, n), ErrorCode.InvalidSize);
      refused(heap, () => heap.realloc(0, n), ErrorCode.InvalidSize);
      refused(heap, () => heap.realloc(s.large, n), ErrorCode.InvalidSize);
      refused(heap, () => heap.memalign(64, n), ErrorCode.InvalidSize);
      refused(heap, () => heap.memalign(16, n), ErrorCode.InvalidSize);
      refused(heap, () => heap.memalign(MiB, n), ErrorCode.InvalidSize);
    }
  });

  it("name the function and the value in the message", () => {
    const { heap } = s;
    expect(expectError(() => heap.malloc(-1), ErrorCode.InvalidSize).message).toMatch(/malloc.*-1/);
    expect(expectError(() => heap.calloc(1, 1.5), ErrorCode.InvalidSize).message).toMatch(/calloc.*1\.5/);
    expect(expectError(() => heap.realloc(0, "16" as never), ErrorCode.InvalidSize).message).toMatch(/realloc.*"16"/);
    expect(expectError(() => heap.memalign(64, 16n as never), ErrorCode.InvalidSize).message).toMatch(/memalign.*16n/);
    expectHeapOk(heap);
  });
});

describe("bad pointers", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  it("that are not integer addresses throw ERR_TSMALLOC_INVALID_POINTER", () => {
    const { heap } = s;
    for (const ptr of badPointers) {
      const p = ptr as number;
      refused(heap, () => heap.free(p), ErrorCode.InvalidPointer);
      refused(heap, () => heap.realloc(p, 16), ErrorCode.InvalidPointer);
      refused(heap, () => heap.usableSize(p), ErrorCode.InvalidPointer);
    }
  });

  it("that are misaligned are refused", () => {
    const [p] = s.small;
    for (const offset of [1, 4, 8, 12]) refusedEverywhere(s.heap, p! + offset, ErrorCode.InvalidPointer);
    refusedEverywhere(s.heap, s.large + 8, ErrorCode.InvalidPointer);
  });

  it("inside a block are refused", () => {
    for (const p of s.small.slice(1)) {
      refusedEverywhere(s.heap, p + 16, ErrorCode.InvalidPointer);
      refusedEverywhere(s.heap, p + 96, ErrorCode.InvalidPointer);
    }
    refusedEverywhere(s.heap, s.large + 16, ErrorCode.InvalidPointer);
    refusedEverywhere(s.heap, s.large + 65536, ErrorCode.InvalidPointer);
    refusedEverywhere(s.heap, s.large - 32 + 2 * MiB, ErrorCode.InvalidPointer);
  });

  it("into free space of the heap are refused", () => {
    const { heap, memory } = s;
    const [first] = regionsOf(memory, RegionOwner.Malloc);
    // the first segment's free space is at its start: blocks are carved from the end
    for (const p of [first!.address + 4096, first!.address + 65536, first!.address + 65536 + 32]) {
      expect(heap.owns(p)).toBe(true);
      refusedEverywhere(heap, p, ErrorCode.InvalidPointer);
    }
  });

  it("into the heap header or a segment header are refused", () => {
    const { heap } = s;
    const first = heap.address - 32;
    for (const p of [first, heap.address, heap.address + 16, heap.address + 256, heap.address + 1024, s.segment2, s.segment2 + 16]) {
      refusedEverywhere(heap, p, ErrorCode.InvalidPointer);
    }
  });

  it("outside the memory are refused", () => {
    const { heap, memory } = s;
    for (const p of [memory.byteLength, memory.byteLength + 1024 * 65536, 2 ** 31, 2 ** 32 - 16]) {
      const error = expectError(() => heap.free(p), ErrorCode.InvalidPointer, p);
      expect(error.message).toContain("outside the memory");
      refusedEverywhere(heap, p, ErrorCode.InvalidPointer);
    }
  });

  it("into the memory's own header are refused", () => {
    const end = s.memory.headerBytes;
    for (const p of [16, 32, 256, 4096, end - 16]) refusedEverywhere(s.heap, p, ErrorCode.InvalidPointer);
  });

  it("to blocks of another heap in the same memory are refused", () => {
    const { heap, other } = s;
    const a = other.malloc(100);
    const b = other.malloc(100); // its left neighbour is free space: validated through it
    const large = other.malloc(MiB);
    for (const p of [a, b, large]) {
      const error = expectError(() => heap.free(p), ErrorCode.InvalidPointer, p);
      expect(error.message).toContain("another malloc heap");
      refusedEverywhere(heap, p, ErrorCode.InvalidPointer);
    }
    // and the other way round
    for (const p of [s.small[0]!, s.large]) {
      const before = snapshot(other);
      expectError(() => other.free(p), ErrorCode.InvalidPointer, p);
      expectUnchanged(other, before);
    }
  });

  it("into regions that someone else mapped are refused", () => {
    const { heap, memory } = s;
    const largeLike = memory.map(65536, { owner: RegionOwner.MallocLarge });
    for (const p of [s.foreign, s.foreign + 32, s.foreign + 4096, s.arena + 32, largeLike + 32]) {
      refusedEverywhere(heap, p, ErrorCode.InvalidPointer);
    }
    expect(expectError(() => heap.free(s.arena + 32), ErrorCode.InvalidPointer).message).toContain("arena");
  });
});

describe("double frees", () => {
  let s: Scene;
  beforeEach(() => {
    s = scene();
  });

  /** Four more blocks in a row, highest first (blocks are carved from the end of free space). */
  function row(heap: Malloc, count: number): number[] {
    const blocks = Array.from({ length: count }, () => heap.malloc(100));
    for (let i = 1; i < count; i++) expect(blocks[i]! + 112).toBe(blocks[i - 1]);
    return blocks;
  }

  it("of a block between used neighbours", () => {
    const { heap } = s;
    const [, b] = row(heap, 3);
    heap.free(b!);
    const error = expectError(() => heap.free(b!), ErrorCode.DoubleFree, b);
    expect(error.message).toContain("double free");
    refusedEverywhere(heap, b!, ErrorCode.DoubleFree);
  });

  it("of a block merged into the free space on its left", () => {
    const { heap } = s;
    const [, low] = row(heap, 2);
    // the lowest block borders the free space
    heap.free(low!);
    refusedEverywhere(heap, low!, ErrorCode.DoubleFree);
  });

  it("of blocks merged with a free right neighbour", () => {
    const { heap } = s;
    const [, high, low] = row(heap, 4);
    heap.free(high!);
    heap.free(low!); // merges with high, on its right
    refusedEverywhere(heap, low!, ErrorCode.DoubleFree);
    refusedEverywhere(heap, high!, ErrorCode.DoubleFree);
  });

  it("of blocks merged on both sides", () => {
    const { heap } = s;
    const [, a, b, c] = row(heap, 5);
    heap.free(a!);
    heap.free(c!);
    heap.free(b!); // merges with a on its right and c on its left
    for (const p of [a!, b!, c!]) refusedEverywhere(heap, p, ErrorCode.DoubleFree);
  });

  it("of a large block, whose region is unmapped", () => {
    const { heap, memory } = s;
    heap.free(s.large);
    expect(memory.regionAt(s.large)).toBeNull();
    refusedEverywhere(heap, s.large, ErrorCode.DoubleFree);
  });

  it("of a moved block (after realloc) are detected", () => {
    const { heap } = s;
    const [p] = row(heap, 2);
    const q = heap.realloc(p!, 10_000);
    expect(q).not.toBe(p);
    refusedEverywhere(heap, p!, ErrorCode.DoubleFree);
    const r = heap.realloc(s.large, 100);
    refusedEverywhere(heap, s.large, ErrorCode.DoubleFree);
    heap.free(q);
    heap.free(r);
  });
});
