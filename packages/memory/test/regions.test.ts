import { ErrorCode, LinearMemory, MAX_MEMORY_BYTES, PAGE_SIZE, type Region, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { allBytes, backings, expectError, expectRejected, headerRegion, MiB, snapshot } from "./support.ts";

const P = PAGE_SIZE;
const user = (address: number, size: number, owner: number = RegionOwner.User): Region => ({ address, size, owner });

/** A growable memory of at most `maximum` bytes with a one-page header at 0. */
function small(maximum = 16 * MiB): LinearMemory {
  return new LinearMemory({ maximum });
}

const badSizes: unknown[] = [0, -1, Number.NaN, 1.5, "1", 1n, Number.POSITIVE_INFINITY, undefined, null];
const badAddresses: unknown[] = [Number.NaN, -P, 1.5, "65536", 65536n, undefined, null, 2 ** 32];

describe("map", () => {
  it("returns page-aligned addresses, first fit after the header", () => {
    const memory = small();
    const a = memory.map(1);
    const b = memory.map(P + 1);
    const c = memory.map(3 * P);
    expect([a, b, c]).toEqual([P, 2 * P, 4 * P]);
    for (const address of [a, b, c]) expect(address % P).toBe(0);
    expect(memory.regions()).toEqual([headerRegion(memory), user(a, P), user(b, 2 * P), user(c, 3 * P)]);
  });

  it("honours power-of-two alignments above a page", () => {
    const memory = small();
    memory.map(P);
    const aligned = memory.map(P, { alignment: MiB });
    expect(aligned).toBe(MiB);
    const twoMiB = memory.map(3 * P, { alignment: 2 * MiB });
    expect(twoMiB).toBe(2 * MiB);
    // the gap below the aligned regions stays free for first fit
    expect(memory.map(14 * P)).toBe(2 * P);
    expect(memory.map(P)).toBe(MiB + P);
    expect(memory.regions()).toEqual([
      headerRegion(memory),
      user(P, P),
      user(2 * P, 14 * P),
      user(MiB, P),
      user(MiB + P, P),
      user(2 * MiB, 3 * P),
    ]);
  });

  it("treats alignments up to a page as page alignment", () => {
    const memory = small();
    for (const alignment of [1, 2, 16, 4096, P]) {
      const address = memory.map(100, { alignment });
      expect(address % P).toBe(0);
    }
    expect(memory.regions().map((region) => region.address)).toEqual([0, P, 2 * P, 3 * P, 4 * P, 5 * P]);
  });

  it("reuses the first hole an unmap leaves (first fit)", () => {
    const memory = small();
    const a = memory.map(P);
    const b = memory.map(3 * P);
    const c = memory.map(P);
    memory.unmap(b);
    expect(memory.map(4 * P)).toBe(c + P);
    expect(memory.map(2 * P)).toBe(b);
    expect(memory.map(P)).toBe(b + 2 * P);
    expect(memory.map(P)).toBe(c + 5 * P);
    memory.unmap(a);
    expect(memory.map(P)).toBe(a);
  });

  it("skips a hole that is too small or cannot be aligned", () => {
    const memory = small();
    const a = memory.map(P);
    memory.map(P);
    memory.unmap(a);
    expect(memory.map(2 * P)).toBe(3 * P);
    expect(memory.map(P, { alignment: 2 * P })).toBe(6 * P);
    expect(memory.map(P)).toBe(a);
  });

  it("grows the memory when no free range below its end fits", () => {
    const memory = small();
    expect(memory.byteLength).toBe(P);
    const region = memory.map(MiB);
    expect(memory.byteLength).toBe(P + MiB);
    const aligned = memory.map(P, { alignment: 4 * MiB });
    expect(aligned).toBe(4 * MiB);
    expect(memory.byteLength).toBe(4 * MiB + P);
    expect(memory.regionAt(region)).toEqual(user(region, MiB));
  });

  it("returns 0 and changes nothing when the memory cannot grow far enough", () => {
    const memory = small(MiB);
    memory.map(8 * P);
    const before = snapshot(memory);
    expect(memory.map(8 * P)).toBe(0);
    expect(memory.map(P, { alignment: 2 * MiB })).toBe(0);
    expect(memory.map(P, { alignment: 2 ** 31 })).toBe(0);
    expect(snapshot(memory)).toEqual(before);
    expect(memory.map(7 * P)).toBe(9 * P);
    expect(memory.map(1)).toBe(0);
    expect(memory.byteLength).toBe(MiB);
  });

  it("returns 0 and changes nothing when a fixed buffer is full", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(8 * P) });
    const region = memory.map(5 * P);
    const before = snapshot(memory);
    expect(memory.map(3 * P)).toBe(0);
    expect(snapshot(memory)).toEqual(before);
    expect(memory.map(2 * P)).toBe(region + 5 * P);
    expect(memory.map(1)).toBe(0);
  });

  it("returns 0 for a valid size above the maximum", () => {
    const memory = small(MiB);
    const before = snapshot(memory);
    for (const size of [MiB + 1, 2 * MiB, MAX_MEMORY_BYTES + 1, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(memory.map(size)).toBe(0);
    }
    expect(snapshot(memory)).toEqual(before);
  });

  it("rejects bad sizes with ERR_TSMALLOC_INVALID_SIZE and changes nothing", () => {
    const memory = small();
    memory.map(P);
    for (const size of badSizes) expectRejected(memory, () => memory.map(size as never), ErrorCode.InvalidSize);
  });

  it("rejects bad alignments with ERR_TSMALLOC_INVALID_ALIGNMENT and changes nothing", () => {
    const memory = small();
    for (const alignment of [0, 3, 3 * P, -P, 1.5, 2 ** 32, 2 ** 40, Number.NaN, "65536", 65536n, null]) {
      expectRejected(memory, () => memory.map(P, { alignment: alignment as never }), ErrorCode.InvalidAlignment);
    }
  });

  it("hands out zeroed memory, also for pages used and unmapped before", () => {
    const memory = small();
    const a = memory.map(4 * P);
    expect(allBytes(memory, a, 4 * P, 0)).toBe(true);
    memory.fill(a, 0xee, 4 * P);
    memory.unmap(a);
    const b = memory.map(4 * P);
    expect(b).toBe(a);
    expect(allBytes(memory, b, 4 * P, 0)).toBe(true);
  });

  it("zeroes reused pages that a smaller region now spans only in part", () => {
    const memory = small();
    const a = memory.map(4 * P);
    memory.fill(a, 0xee, 4 * P);
    memory.unmap(a);
    const b = memory.map(P);
    const c = memory.map(2 * P);
    expect([b, c]).toEqual([a, a + P]);
    expect(allBytes(memory, b, 3 * P, 0)).toBe(true);
    // the fourth page, dirty, is cleared when a later region takes it
    const d = memory.map(2 * P);
    expect(d).toBe(a + 3 * P);
    expect(allBytes(memory, d, 2 * P, 0)).toBe(true);
  });

  it("records the owner it is given", () => {
    const memory = small();
    const owners = [RegionOwner.Malloc, RegionOwner.MallocLarge, RegionOwner.Arena, 15, RegionOwner.User, 63];
    const addresses = owners.map((owner) => memory.map(P, { owner }));
    expect(memory.regions().slice(1)).toEqual(addresses.map((address, i) => user(address, P, owners[i]!)));
    addresses.forEach((address, i) => expect(memory.pageOwner(address)).toBe(owners[i]));
  });

  it("rejects owners outside 3..63 with ERR_TSMALLOC_INVALID_OPTION and changes nothing", () => {
    const memory = small();
    for (const owner of [0, 1, 2, 64, 1.5, -1, Number.NaN, "16", 16n, null]) {
      expectRejected(memory, () => memory.map(P, { owner: owner as never }), ErrorCode.InvalidOption);
    }
  });

  it("keeps adjacent regions of the same owner apart", () => {
    const memory = small();
    const a = memory.map(2 * P);
    const b = memory.map(P);
    expect(memory.regions().slice(1)).toEqual([user(a, 2 * P), user(b, P)]);
    expect(memory.unmap(a)).toBe(2 * P);
    expect(memory.regions().slice(1)).toEqual([user(b, P)]);
  });
});

describe("unmap", () => {
  it("returns the bytes unmapped and frees the pages for reuse", () => {
    const memory = small();
    const a = memory.map(3 * P - 5);
    const b = memory.map(P);
    expect(memory.unmap(a)).toBe(3 * P);
    expect(memory.regionAt(a)).toBeNull();
    expect(memory.pageOwner(a + 2 * P)).toBe(0);
    expect(memory.regions()).toEqual([headerRegion(memory), user(b, P)]);
    expect(memory.map(3 * P)).toBe(a);
  });

  it("rejects addresses that do not start a mapped region, and changes nothing", () => {
    const memory = small();
    const a = memory.map(2 * P);
    const b = memory.map(P);
    memory.unmap(b);
    const cases: unknown[] = [
      a + P, // inside a region
      b, // already unmapped
      a + 1, // misaligned
      a + P / 2,
      0, // the header
      8 * P, // never mapped
      16 * MiB, // past the maximum
      MAX_MEMORY_BYTES,
      ...badAddresses,
    ];
    for (const address of cases) {
      const error = expectRejected(memory, () => memory.unmap(address as never), ErrorCode.InvalidPointer);
      expect(error.message).toMatch(/^LinearMemory\.unmap/);
    }
  });

  it("reports the address in the error", () => {
    const memory = small();
    const a = memory.map(2 * P);
    expect(expectError(() => memory.unmap(a + P), ErrorCode.InvalidPointer).address).toBe(a + P);
    memory.unmap(a);
    const twice = expectError(() => memory.unmap(a), ErrorCode.InvalidPointer);
    expect(twice.address).toBe(a);
    expect(twice.message).toContain("0x10000");
  });

  it("refuses the host's pages", () => {
    const memory = new LinearMemory({ base: 2 * P, maximum: MiB });
    for (const address of [0, P]) expectRejected(memory, () => memory.unmap(address), ErrorCode.InvalidPointer);
    expectRejected(memory, () => memory.unmap(2 * P), ErrorCode.InvalidPointer);
  });
});

describe("remap", () => {
  it("grows a region in place into the free pages after it, keeping its bytes", () => {
    const memory = small();
    const a = memory.map(P);
    const b = memory.map(P);
    const c = memory.map(3 * P);
    memory.fill(b, 0x77, 4 * P);
    memory.unmap(b);
    memory.unmap(c);
    memory.fill(a, 0x5a, P);
    expect(memory.remap(a, 3 * P)).toBe(true);
    expect(memory.regions()).toEqual([headerRegion(memory), user(a, 3 * P)]);
    expect(allBytes(memory, a, P, 0x5a)).toBe(true);
    // the pages taken over were used before: they must come back zeroed
    expect(allBytes(memory, a + P, 2 * P, 0)).toBe(true);
  });

  it("grows a region into memory not committed yet", () => {
    const memory = small();
    const a = memory.map(P);
    expect(memory.byteLength).toBe(2 * P);
    expect(memory.remap(a, 5 * P + 1)).toBe(true);
    expect(memory.byteLength).toBe(7 * P);
    expect(memory.regionAt(a + 5 * P)).toEqual(user(a, 6 * P));
    expect(allBytes(memory, a, 6 * P, 0)).toBe(true);
  });

  it("keeps the owner when it grows a region", () => {
    const memory = small();
    const a = memory.map(P, { owner: RegionOwner.Arena });
    expect(memory.remap(a, 4 * P)).toBe(true);
    expect(memory.regions()).toEqual([headerRegion(memory), user(a, 4 * P, RegionOwner.Arena)]);
    expect(memory.pageOwner(a + 3 * P)).toBe(RegionOwner.Arena);
  });

  it("returns false and changes nothing when the pages after are taken", () => {
    const memory = small();
    const a = memory.map(P);
    memory.map(P);
    const before = snapshot(memory);
    expect(memory.remap(a, 2 * P)).toBe(false);
    expect(snapshot(memory)).toEqual(before);
  });

  it("returns false and changes nothing when the memory cannot grow far enough", () => {
    const fixed = new LinearMemory({ buffer: new ArrayBuffer(4 * P) });
    const a = fixed.map(2 * P);
    const before = snapshot(fixed);
    expect(fixed.remap(a, 4 * P)).toBe(false);
    expect(fixed.remap(a, MiB)).toBe(false);
    expect(fixed.remap(a, 2 ** 40)).toBe(false);
    expect(snapshot(fixed)).toEqual(before);
    expect(fixed.remap(a, 3 * P)).toBe(true);

    const growable = small(MiB);
    const b = growable.map(P);
    const grown = snapshot(growable);
    expect(growable.remap(b, MiB)).toBe(false);
    expect(snapshot(growable)).toEqual(grown);
    expect(growable.remap(b, MiB - P)).toBe(true);
    expect(growable.byteLength).toBe(MiB);
  });

  it("shrinks a region and frees its tail", () => {
    const memory = small();
    const a = memory.map(4 * P);
    const b = memory.map(P);
    memory.fill(a, 0x33, 4 * P);
    expect(memory.remap(a, P + 1)).toBe(true);
    expect(memory.regions()).toEqual([headerRegion(memory), user(a, 2 * P), user(b, P)]);
    expect(allBytes(memory, a, 2 * P, 0x33)).toBe(true);
    expect(memory.stats().mappedBytes).toBe(4 * P);
    // the tail serves the next map, zeroed
    const c = memory.map(2 * P);
    expect(c).toBe(a + 2 * P);
    expect(allBytes(memory, c, 2 * P, 0)).toBe(true);
  });

  it("accepts the size the region already has", () => {
    const memory = small();
    const a = memory.map(2 * P);
    const before = snapshot(memory);
    expect(memory.remap(a, 2 * P)).toBe(true);
    expect(memory.remap(a, P + 1)).toBe(true);
    expect(snapshot(memory)).toEqual(before);
  });

  it("rejects bad addresses like unmap and changes nothing", () => {
    const memory = new LinearMemory({ base: P, maximum: 16 * MiB });
    const a = memory.map(2 * P);
    const b = memory.map(P);
    memory.unmap(b);
    for (const address of [a + P, b, a + 1, 0, P, 16 * MiB, ...badAddresses]) {
      expectRejected(memory, () => memory.remap(address as never, P), ErrorCode.InvalidPointer);
    }
  });

  it("rejects bad sizes with ERR_TSMALLOC_INVALID_SIZE and changes nothing", () => {
    const memory = small();
    const a = memory.map(2 * P);
    for (const size of badSizes) expectRejected(memory, () => memory.remap(a, size as never), ErrorCode.InvalidSize);
  });
});

describe("regionAt and pageOwner", () => {
  it("finds the region around any address inside it", () => {
    const memory = small();
    const a = memory.map(3 * P);
    for (const address of [a, a + 1, a + P + 12345, a + 3 * P - 1]) {
      expect(memory.regionAt(address)).toEqual(user(a, 3 * P));
      expect(memory.pageOwner(address)).toBe(RegionOwner.User);
    }
    expect(memory.regionAt(0)).toEqual(headerRegion(memory));
    expect(memory.regionAt(P - 1)).toEqual(headerRegion(memory));
  });

  it("returns null in free space, past the end and for non-addresses", () => {
    const memory = small();
    const a = memory.map(P);
    memory.map(P);
    memory.unmap(a);
    for (const address of [a, a + 100, memory.byteLength, memory.byteLength + P, 16 * MiB, MAX_MEMORY_BYTES, 2 ** 32 - 1, ...badAddresses]) {
      expect(memory.regionAt(address as never)).toBeNull();
    }
  });

  it("reports owner 0 for free pages and addresses outside the memory", () => {
    const memory = small();
    const a = memory.map(P);
    memory.unmap(a);
    for (const address of [a, 10 * P, 16 * MiB, 2 ** 40, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(memory.pageOwner(address)).toBe(0);
    }
  });

  it("exposes the page map for owner checks without a call", () => {
    const memory = small();
    const a = memory.map(2 * P, { owner: RegionOwner.Arena });
    const u8 = memory.u8;
    expect(u8[memory.pageMapOffset + (a >>> 16)]! & 0x3f).toBe(RegionOwner.Arena);
    expect(u8[memory.pageMapOffset + (a >>> 16) + 1]! & 0x3f).toBe(RegionOwner.Arena);
    expect(u8[memory.pageMapOffset + (a >>> 16) + 2]! & 0x3f).toBe(0);
  });
});

describe("stats", () => {
  it("counts mapped and free bytes, regions and changes", () => {
    const memory = small();
    expect(memory.stats()).toEqual({
      pageSize: P,
      byteLength: P,
      maxByteLength: 16 * MiB,
      mappedBytes: P,
      freeBytes: 0,
      regions: 1,
      generation: 1,
    });
    const a = memory.map(3 * P);
    expect(memory.stats()).toMatchObject({ byteLength: 4 * P, mappedBytes: 4 * P, freeBytes: 0, regions: 2, generation: 2 });
    const b = memory.map(P);
    memory.unmap(a);
    expect(memory.stats()).toMatchObject({ byteLength: 5 * P, mappedBytes: 2 * P, freeBytes: 3 * P, regions: 2, generation: 4 });
    memory.remap(b, 2 * P);
    expect(memory.stats()).toMatchObject({ byteLength: 6 * P, mappedBytes: 3 * P, freeBytes: 3 * P, regions: 2, generation: 5 });
    memory.remap(b, P);
    expect(memory.stats()).toMatchObject({ mappedBytes: 2 * P, freeBytes: 4 * P, regions: 2, generation: 6 });
    expect(memory.generation).toBe(6);
  });

  it("leaves generation alone when nothing changes", () => {
    const memory = small(MiB);
    const a = memory.map(P);
    const generation = memory.generation;
    memory.map(2 * MiB);
    memory.remap(a, P);
    memory.regions();
    memory.regionAt(a);
    expectError(() => memory.unmap(a + 1), ErrorCode.InvalidPointer);
    expect(memory.generation).toBe(generation);
  });

  it("agrees with regions() and byteLength on every backing", () => {
    for (const backing of backings) {
      const memory = backing.create(2 * MiB);
      const a = memory.map(2 * P);
      memory.map(P, { alignment: MiB });
      memory.unmap(a);
      const stats = memory.stats();
      const regions = memory.regions();
      expect(stats.regions).toBe(regions.length);
      expect(stats.mappedBytes).toBe(regions.reduce((sum, region) => sum + region.size, 0));
      expect(stats.byteLength).toBe(memory.byteLength);
      expect(stats.freeBytes).toBe(memory.byteLength - stats.mappedBytes);
      expect(stats.maxByteLength).toBe(2 * MiB);
    }
  });
});

describe.each(backings)("the region allocator on a $name", (backing) => {
  it("maps, reuses, zeroes and fails the same way", () => {
    const memory = backing.create(2 * MiB);
    const a = memory.map(4 * P);
    const b = memory.map(P, { alignment: MiB });
    expect([a, b]).toEqual([P, MiB]);
    memory.fill(a, 0x99, 4 * P);
    expect(memory.unmap(a)).toBe(4 * P);
    const c = memory.map(2 * P);
    expect(c).toBe(a);
    expect(allBytes(memory, c, 2 * P, 0)).toBe(true);
    expect(memory.remap(c, 15 * P)).toBe(true);
    expect(allBytes(memory, c, 15 * P, 0)).toBe(true);
    expect(memory.remap(c, 16 * P)).toBe(false);
    const before = snapshot(memory);
    expect(memory.map(MiB)).toBe(0);
    expect(snapshot(memory)).toEqual(before);
    expect(memory.map(MiB - 2 * P)).toBe(MiB + P);
    expect(memory.regions()).toEqual([headerRegion(memory), user(c, 15 * P), user(b, P), user(MiB + P, MiB - 2 * P)]);
    expect(memory.byteLength).toBe(backing.growable ? 2 * MiB - P : 2 * MiB);
  });
});
