import {
  DEFAULT_MAX_PAGES,
  ErrorCode,
  type LinearMemoryOptions,
  LinearMemory,
  MAX_MEMORY_BYTES,
  PAGE_SIZE,
  RegionOwner,
} from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { allBytes, backings, expectError, headerRegion, MiB, wasmMemory } from "./support.ts";

/** Every view covers exactly the memory's bytes and shares its buffer. */
function expectViewsCover(memory: LinearMemory): void {
  const n = memory.byteLength;
  const buffer = memory.buffer;
  expect(n % PAGE_SIZE).toBe(0);
  expect(buffer.byteLength).toBeGreaterThanOrEqual(n);
  expect(memory.u8.length).toBe(n);
  expect(memory.u16.length).toBe(n / 2);
  expect(memory.i32.length).toBe(n / 4);
  expect(memory.u32.length).toBe(n / 4);
  expect(memory.f64.length).toBe(n / 8);
  expect(memory.dataView.byteLength).toBe(n);
  for (const view of [memory.u8, memory.u16, memory.i32, memory.u32, memory.f64, memory.dataView]) {
    expect(view.buffer).toBe(buffer);
    expect(view.byteOffset).toBe(0);
  }
}

/** Writes the last 8 bytes of a mapped region through one view and reads them through the others. */
function expectViewsAgreeAt(memory: LinearMemory, end: number): void {
  memory.dataView.setFloat64(end - 8, 1.5, true);
  expect(memory.f64[end / 8 - 1]).toBe(1.5);
  memory.u8[end - 1] = 0xa5;
  expect(memory.dataView.getUint8(end - 1)).toBe(0xa5);
  expect(memory.u16[end / 2 - 1]! >>> 8).toBe(0xa5);
  expect(memory.u32[end / 4 - 1]! >>> 24).toBe(0xa5);
  expect(memory.i32[end / 4 - 1]! >> 24).toBe(0xa5 - 256);
}

describe("LinearMemory construction", () => {
  it("creates a growable, non-shared WebAssembly.Memory holding just the header by default", () => {
    const memory = new LinearMemory();
    const source = memory.source as { buffer?: unknown; grow?: unknown };
    expect(memory.source).not.toBeInstanceOf(ArrayBuffer);
    expect(typeof source.grow).toBe("function");
    expect(memory.shared).toBe(false);
    expect(memory.buffer).toBeInstanceOf(ArrayBuffer);
    expect(memory.buffer).toBe(source.buffer);
    expect(memory.base).toBe(0);
    // by default the address space is as large as a one-page header can map: 4 GiB - 16 MiB
    expect(memory.maxByteLength).toBe(DEFAULT_MAX_PAGES * PAGE_SIZE);
    expect(DEFAULT_MAX_PAGES * PAGE_SIZE).toBe(4 * 1024 * MiB - 16 * MiB);
    expect(memory.headerBytes).toBe(PAGE_SIZE);
    expect(memory.byteLength).toBe(memory.headerBytes);
    expect(memory.pageMapOffset).toBe(256);
    expect(memory.regions()).toEqual([{ address: 0, size: PAGE_SIZE, owner: RegionOwner.Memory }]);
  });

  it("creates a shared WebAssembly.Memory with shared: true", () => {
    const memory = new LinearMemory({ shared: true, maximum: 4 * MiB });
    expect(memory.shared).toBe(true);
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(memory.source).not.toBeInstanceOf(SharedArrayBuffer);
    expect((memory.source as { buffer: unknown }).buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(memory.maxByteLength).toBe(4 * MiB);
    expect(memory.regions()).toEqual([headerRegion(memory)]);
  });

  it("creates a non-shared memory with shared: false", () => {
    const memory = new LinearMemory({ shared: false, maximum: 4 * MiB });
    expect(memory.shared).toBe(false);
    expect(memory.buffer).toBeInstanceOf(ArrayBuffer);
  });

  it("builds on a caller's fixed ArrayBuffer, whose size is the maximum", () => {
    const buffer = new ArrayBuffer(2 * MiB);
    const memory = new LinearMemory({ buffer });
    expect(memory.source).toBe(buffer);
    expect(memory.buffer).toBe(buffer);
    expect(memory.shared).toBe(false);
    expect(memory.byteLength).toBe(2 * MiB);
    expect(memory.maxByteLength).toBe(2 * MiB);
    expect(memory.headerBytes).toBe(PAGE_SIZE);
    expect(memory.regions()).toEqual([{ address: 0, size: PAGE_SIZE, owner: RegionOwner.Memory }]);
    expect(memory.grow(PAGE_SIZE)).toBe(false);
  });

  it("uses only the whole pages of a fixed buffer", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(3 * PAGE_SIZE + 100) });
    expect(memory.byteLength).toBe(3 * PAGE_SIZE);
    expect(memory.maxByteLength).toBe(3 * PAGE_SIZE);
    expect(memory.u8.length).toBe(3 * PAGE_SIZE);
    expect(memory.map(2 * PAGE_SIZE)).toBe(PAGE_SIZE);
    expect(memory.map(1)).toBe(0);
  });

  it("builds on a resizable ArrayBuffer and resizes it to hold the header", () => {
    const buffer = new ArrayBuffer(0, { maxByteLength: 8 * MiB });
    const memory = new LinearMemory({ buffer });
    expect(memory.source).toBe(buffer);
    expect(buffer.byteLength).toBe(PAGE_SIZE);
    expect(memory.byteLength).toBe(PAGE_SIZE);
    expect(memory.maxByteLength).toBe(8 * MiB);
    const region = memory.map(MiB);
    expect(region).toBe(PAGE_SIZE);
    expect(buffer.byteLength).toBe(PAGE_SIZE + MiB);
  });

  it("builds on a fixed SharedArrayBuffer", () => {
    const buffer = new SharedArrayBuffer(MiB);
    const memory = new LinearMemory({ buffer });
    expect(memory.source).toBe(buffer);
    expect(memory.shared).toBe(true);
    expect(memory.byteLength).toBe(MiB);
    expect(memory.maxByteLength).toBe(MiB);
    expect(memory.grow(PAGE_SIZE)).toBe(false);
  });

  it("builds on a growable SharedArrayBuffer and grows it", () => {
    const buffer = new SharedArrayBuffer(0, { maxByteLength: 4 * MiB });
    const memory = new LinearMemory({ buffer, shared: true });
    expect(memory.shared).toBe(true);
    expect(buffer.byteLength).toBe(PAGE_SIZE);
    expect(memory.maxByteLength).toBe(4 * MiB);
    expect(memory.map(MiB)).toBe(PAGE_SIZE);
    expect(buffer.byteLength).toBe(PAGE_SIZE + MiB);
  });

  it("builds on a caller's WebAssembly.Memory and keeps its size", () => {
    const wasm = wasmMemory(3, 64);
    const memory = new LinearMemory({ wasmMemory: wasm });
    expect(memory.source).toBe(wasm);
    expect(memory.buffer).toBe(wasm.buffer);
    expect(memory.byteLength).toBe(3 * PAGE_SIZE);
    // nothing tells a WebAssembly.Memory's own maximum: the page map covers the default space
    expect(memory.maxByteLength).toBe(DEFAULT_MAX_PAGES * PAGE_SIZE);
    expect(memory.headerBytes).toBe(PAGE_SIZE);
    expect(memory.map(PAGE_SIZE)).toBe(PAGE_SIZE);
    // growth stops at the WebAssembly.Memory's maximum (64 pages)
    expect(memory.map(63 * PAGE_SIZE)).toBe(0);
    expect(memory.map(62 * PAGE_SIZE)).toBe(2 * PAGE_SIZE);
    expect(memory.map(PAGE_SIZE)).toBe(0);
    expect(memory.byteLength).toBe(64 * PAGE_SIZE);
  });

  it("covers up to 4 GiB - 64 KiB when asked, with a second header page", () => {
    const memory = new LinearMemory({ maximum: 2 ** 32 });
    expect(memory.maxByteLength).toBe(MAX_MEMORY_BYTES);
    // a page map of 65535 bytes after 256 bytes of fields needs a second header page
    expect(memory.headerBytes).toBe(2 * PAGE_SIZE);
    expect(memory.regions()).toEqual([{ address: 0, size: 2 * PAGE_SIZE, owner: RegionOwner.Memory }]);
  });

  it("grows a caller's empty WebAssembly.Memory to hold the header", () => {
    const wasm = wasmMemory(0, 16);
    const memory = new LinearMemory({ wasmMemory: wasm, maximum: MiB });
    expect(wasm.buffer.byteLength).toBe(PAGE_SIZE);
    expect(memory.byteLength).toBe(PAGE_SIZE);
  });

  it("builds on a caller's shared WebAssembly.Memory", () => {
    const wasm = wasmMemory(1, 16, true);
    const memory = new LinearMemory({ wasmMemory: wasm, shared: true, maximum: MiB });
    expect(memory.shared).toBe(true);
    expect(memory.source).toBe(wasm);
    expect(memory.map(PAGE_SIZE)).toBe(PAGE_SIZE);
    expect(wasm.buffer.byteLength).toBe(2 * PAGE_SIZE);
  });

  describe("base", () => {
    it("reports the pages below base as one region of the host and puts the header at base", () => {
      const memory = new LinearMemory({ base: 3 * PAGE_SIZE, maximum: 4 * MiB });
      expect(memory.base).toBe(3 * PAGE_SIZE);
      expect(memory.pageMapOffset).toBe(3 * PAGE_SIZE + 256);
      expect(memory.byteLength).toBe(4 * PAGE_SIZE);
      expect(memory.regions()).toEqual([
        { address: 0, size: 3 * PAGE_SIZE, owner: RegionOwner.Host },
        { address: 3 * PAGE_SIZE, size: PAGE_SIZE, owner: RegionOwner.Memory },
      ]);
      expect(memory.regionAt(PAGE_SIZE + 5)).toEqual({ address: 0, size: 3 * PAGE_SIZE, owner: RegionOwner.Host });
      expect(memory.pageOwner(0)).toBe(RegionOwner.Host);
      expect(memory.pageOwner(3 * PAGE_SIZE)).toBe(RegionOwner.Memory);
      expect(memory.stats().mappedBytes).toBe(4 * PAGE_SIZE);
      expect(memory.stats().regions).toBe(2);
    });

    it("never maps the host's pages, even when they are the only free ones", () => {
      const memory = new LinearMemory({ buffer: new ArrayBuffer(8 * PAGE_SIZE), base: 4 * PAGE_SIZE });
      const regions = [memory.map(PAGE_SIZE), memory.map(PAGE_SIZE), memory.map(PAGE_SIZE)];
      expect(regions).toEqual([5 * PAGE_SIZE, 6 * PAGE_SIZE, 7 * PAGE_SIZE]);
      expect(memory.map(PAGE_SIZE)).toBe(0);
      expect(memory.regionAt(0)!.owner).toBe(RegionOwner.Host);
    });

    it("leaves the host's bytes as they were", () => {
      const buffer = new ArrayBuffer(8 * PAGE_SIZE);
      const host = new Uint8Array(buffer, 0, 2 * PAGE_SIZE);
      host.fill(0x77);
      const memory = new LinearMemory({ buffer, base: 2 * PAGE_SIZE });
      memory.unmap(memory.map(4 * PAGE_SIZE));
      memory.map(5 * PAGE_SIZE);
      expect(allBytes(memory, 0, 2 * PAGE_SIZE, 0x77)).toBe(true);
    });
  });

  describe("maximum and initial", () => {
    it("rounds maximum down to whole pages", () => {
      const memory = new LinearMemory({ maximum: MiB + 100 });
      expect(memory.maxByteLength).toBe(MiB);
    });

    it("caps maximum at 4 GiB - 64 KiB", () => {
      expect(new LinearMemory({ maximum: 2 ** 40 }).maxByteLength).toBe(MAX_MEMORY_BYTES);
      expect(new LinearMemory({ maximum: 2 ** 32 }).maxByteLength).toBe(MAX_MEMORY_BYTES);
    });

    it("lets maximum limit a caller's buffer below its size", () => {
      const memory = new LinearMemory({ buffer: new ArrayBuffer(4 * MiB), maximum: MiB });
      expect(memory.maxByteLength).toBe(MiB);
      expect(memory.byteLength).toBe(MiB);
      expect(memory.map(MiB - PAGE_SIZE)).toBe(PAGE_SIZE);
      expect(memory.map(PAGE_SIZE)).toBe(0);
    });

    it("lets maximum limit a resizable buffer below its maxByteLength", () => {
      const memory = new LinearMemory({ buffer: new ArrayBuffer(0, { maxByteLength: 4 * MiB }), maximum: MiB });
      expect(memory.maxByteLength).toBe(MiB);
      expect(memory.map(MiB)).toBe(0);
      expect(memory.map(MiB - PAGE_SIZE)).toBe(PAGE_SIZE);
    });

    it("accepts a memory exactly as large as its header", () => {
      const memory = new LinearMemory({ maximum: PAGE_SIZE });
      expect(memory.byteLength).toBe(PAGE_SIZE);
      expect(memory.map(1)).toBe(0);
    });

    it("starts with initial bytes, rounded up to whole pages", () => {
      expect(new LinearMemory({ initial: MiB, maximum: 4 * MiB }).byteLength).toBe(MiB);
      expect(new LinearMemory({ initial: MiB + 1, maximum: 4 * MiB }).byteLength).toBe(MiB + PAGE_SIZE);
      expect(new LinearMemory({ initial: 4 * MiB, maximum: 4 * MiB }).byteLength).toBe(4 * MiB);
      expect(new LinearMemory({ initial: MiB, shared: true, maximum: 4 * MiB }).byteLength).toBe(MiB);
    });

    it("never starts smaller than the header", () => {
      expect(new LinearMemory({ initial: 0, maximum: 4 * MiB }).byteLength).toBe(PAGE_SIZE);
      expect(new LinearMemory({ initial: 100, maximum: 4 * MiB }).byteLength).toBe(PAGE_SIZE);
      expect(new LinearMemory({ initial: 100, base: 2 * PAGE_SIZE, maximum: 4 * MiB }).byteLength).toBe(3 * PAGE_SIZE);
    });

    it("maps the initial bytes without growing", () => {
      const memory = new LinearMemory({ initial: MiB, maximum: 4 * MiB });
      const region = memory.map(MiB - PAGE_SIZE);
      expect(region).toBe(PAGE_SIZE);
      expect(memory.byteLength).toBe(MiB);
      expect(memory.stats().freeBytes).toBe(0);
    });
  });

  describe("headerBytes", () => {
    it("is one page for a page map of up to 65280 pages and two pages above", () => {
      expect(new LinearMemory({ maximum: 65280 * PAGE_SIZE }).headerBytes).toBe(PAGE_SIZE);
      expect(new LinearMemory({ maximum: 65281 * PAGE_SIZE }).headerBytes).toBe(2 * PAGE_SIZE);
      expect(new LinearMemory({ maximum: MiB }).headerBytes).toBe(PAGE_SIZE);
    });

    it("is mapped to the memory itself and cannot be unmapped", () => {
      const memory = new LinearMemory({ maximum: MiB });
      expect(memory.regionAt(memory.headerBytes - 1)).toEqual(headerRegion(memory));
      expect(memory.pageOwner(0)).toBe(RegionOwner.Memory);
      expectError(() => memory.unmap(0), ErrorCode.InvalidPointer);
    });
  });

  describe("zeroed", () => {
    it("clears a caller's dirty buffer page by page as it is first mapped", () => {
      const buffer = new ArrayBuffer(MiB);
      new Uint8Array(buffer).fill(0xa5);
      const memory = new LinearMemory({ buffer });
      const region = memory.map(4 * PAGE_SIZE);
      expect(allBytes(memory, region, 4 * PAGE_SIZE, 0)).toBe(true);
      // pages nobody mapped yet keep their bytes until they are mapped
      expect(allBytes(memory, region + 4 * PAGE_SIZE, MiB - region - 4 * PAGE_SIZE, 0xa5)).toBe(true);
      const rest = memory.map(MiB - region - 4 * PAGE_SIZE);
      expect(allBytes(memory, rest, MiB - rest, 0)).toBe(true);
    });

    it("clears a caller's dirty WebAssembly.Memory and resizable buffer too", () => {
      const wasm = wasmMemory(4, 16);
      new Uint8Array(wasm.buffer).fill(0x11);
      const onWasm = new LinearMemory({ wasmMemory: wasm, maximum: MiB });
      expect(allBytes(onWasm, onWasm.map(3 * PAGE_SIZE), 3 * PAGE_SIZE, 0)).toBe(true);

      const resizable = new ArrayBuffer(4 * PAGE_SIZE, { maxByteLength: MiB });
      new Uint8Array(resizable).fill(0x22);
      const onResizable = new LinearMemory({ buffer: resizable });
      // three dirty pages, then two pages that growth brings
      expect(allBytes(onResizable, onResizable.map(5 * PAGE_SIZE), 5 * PAGE_SIZE, 0)).toBe(true);
    });

    it("trusts zeroed: true and skips clearing the caller's pages", () => {
      const buffer = new ArrayBuffer(MiB);
      new Uint8Array(buffer).fill(0xa5);
      const memory = new LinearMemory({ buffer, zeroed: true });
      const region = memory.map(2 * PAGE_SIZE);
      expect(allBytes(memory, region, 2 * PAGE_SIZE, 0xa5)).toBe(true);
      // the promise covers only the first use: pages that come back are cleared
      memory.unmap(region);
      expect(allBytes(memory, memory.map(2 * PAGE_SIZE), 2 * PAGE_SIZE, 0)).toBe(true);
    });

    it("writes the header over whatever a dirty buffer held there", () => {
      const buffer = new ArrayBuffer(MiB);
      new Uint8Array(buffer).fill(0xff);
      const memory = new LinearMemory({ buffer });
      expect(memory.regions()).toEqual([headerRegion(memory)]);
      expect(memory.getRoot("heap")).toBe(0);
      expect(memory.stats()).toMatchObject({ mappedBytes: PAGE_SIZE, regions: 1, generation: 1 });
    });
  });

  describe("invalid options", () => {
    const cases: Array<[string, () => unknown]> = [
      ["buffer and wasmMemory together", () => new LinearMemory({ buffer: new ArrayBuffer(MiB), wasmMemory: wasmMemory(1, 16) })],
      ["a base that is not a multiple of 64 KiB", () => new LinearMemory({ base: 1000 })],
      ["a negative base", () => new LinearMemory({ base: -PAGE_SIZE })],
      ["a fractional base", () => new LinearMemory({ base: 1.5 })],
      ["a NaN base", () => new LinearMemory({ base: Number.NaN })],
      ["a string base", () => new LinearMemory({ base: "65536" as never })],
      ["a base at the end of a fixed buffer", () => new LinearMemory({ buffer: new ArrayBuffer(MiB), base: MiB })],
      ["shared: true with an ArrayBuffer", () => new LinearMemory({ buffer: new ArrayBuffer(MiB), shared: true })],
      ["shared: false with a SharedArrayBuffer", () => new LinearMemory({ buffer: new SharedArrayBuffer(MiB), shared: false })],
      ["shared: true with a non-shared WebAssembly.Memory", () => new LinearMemory({ wasmMemory: wasmMemory(1, 16), shared: true })],
      ["shared: false with a shared WebAssembly.Memory", () => new LinearMemory({ wasmMemory: wasmMemory(1, 16, true), shared: false })],
      ["initial with a buffer", () => new LinearMemory({ buffer: new ArrayBuffer(MiB), initial: PAGE_SIZE })],
      ["initial with a WebAssembly.Memory", () => new LinearMemory({ wasmMemory: wasmMemory(1, 16), initial: PAGE_SIZE })],
      ["initial above maximum", () => new LinearMemory({ initial: 2 * MiB, maximum: MiB })],
      ["a buffer too small for the header", () => new LinearMemory({ buffer: new ArrayBuffer(1000) })],
      ["a buffer with no room for the header above base", () => new LinearMemory({ buffer: new ArrayBuffer(2 * PAGE_SIZE), base: 2 * PAGE_SIZE })],
      ["a resizable buffer that cannot hold the header", () => new LinearMemory({ buffer: new ArrayBuffer(0, { maxByteLength: 1000 }) })],
      ["a WebAssembly.Memory that cannot grow to hold the header", () => new LinearMemory({ wasmMemory: wasmMemory(0, 0) })],
      ["a maximum below one page", () => new LinearMemory({ maximum: PAGE_SIZE - 1 })],
      ["a maximum with no room for the header above base", () => new LinearMemory({ maximum: 2 * PAGE_SIZE, base: 2 * PAGE_SIZE })],
      ["null options", () => new LinearMemory(null as never)],
      ["number options", () => new LinearMemory(5 as never)],
      ["string options", () => new LinearMemory("big" as never)],
      ["a typed array as buffer", () => new LinearMemory({ buffer: new Uint8Array(MiB) as never })],
      ["a plain object as buffer", () => new LinearMemory({ buffer: {} as never })],
      ["a plain object as wasmMemory", () => new LinearMemory({ wasmMemory: {} as never })],
      ["an ArrayBuffer as wasmMemory", () => new LinearMemory({ wasmMemory: new ArrayBuffer(MiB) as never })],
      ["a negative maximum", () => new LinearMemory({ maximum: -1 })],
      ["a fractional maximum", () => new LinearMemory({ maximum: 1.5 * PAGE_SIZE + 0.5 })],
      ["a string maximum", () => new LinearMemory({ maximum: "1048576" as never })],
      ["an infinite maximum", () => new LinearMemory({ maximum: Number.POSITIVE_INFINITY })],
      ["a bigint maximum", () => new LinearMemory({ maximum: 1048576n as never })],
      ["a negative initial", () => new LinearMemory({ initial: -1 })],
      ["a string initial", () => new LinearMemory({ initial: "1" as never })],
      ["a string shared", () => new LinearMemory({ shared: "yes" as never })],
      ["a number shared", () => new LinearMemory({ shared: 1 as never })],
      ["a number zeroed", () => new LinearMemory({ buffer: new ArrayBuffer(MiB), zeroed: 1 as never })],
    ];
    it.each(cases)("rejects %s with ERR_TSMALLOC_INVALID_OPTION", (_name, create) => {
      const error = expectError(create, ErrorCode.InvalidOption);
      expect(error.message).toMatch(/^LinearMemory/);
    });

    it("leaves a caller's buffer untouched when it rejects the options", () => {
      const buffer = new ArrayBuffer(MiB);
      new Uint8Array(buffer).fill(0x3c);
      expectError(() => new LinearMemory({ buffer, initial: PAGE_SIZE }), ErrorCode.InvalidOption);
      expectError(() => new LinearMemory({ buffer, shared: true }), ErrorCode.InvalidOption);
      expect(new Uint8Array(buffer).every((byte) => byte === 0x3c)).toBe(true);
    });
  });
});

describe.each(backings)("views and growth on a $name", (backing) => {
  it("covers the whole memory", () => {
    const memory = backing.create(4 * MiB);
    expect(memory.shared).toBe(backing.shared);
    expect(memory.maxByteLength).toBe(4 * MiB);
    expect(memory.byteLength).toBe(backing.growable ? PAGE_SIZE : 4 * MiB);
    expectViewsCover(memory);
  });

  it("lets every view reach the last byte of a region at the end of the memory", () => {
    const memory = backing.create(4 * MiB);
    const region = memory.map(4 * MiB - PAGE_SIZE);
    expect(region).toBe(PAGE_SIZE);
    expect(memory.byteLength).toBe(4 * MiB);
    expectViewsCover(memory);
    expectViewsAgreeAt(memory, 4 * MiB);
  });

  it("rejects bad grow sizes with ERR_TSMALLOC_INVALID_SIZE", () => {
    const memory = backing.create(4 * MiB);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "1", 1n, undefined, null]) {
      expectError(() => memory.grow(bad as never), ErrorCode.InvalidSize);
    }
    expect(memory.byteLength).toBe(backing.growable ? PAGE_SIZE : 4 * MiB);
  });

  it("grows by 0 bytes successfully", () => {
    const memory = backing.create(4 * MiB);
    const before = memory.byteLength;
    expect(memory.grow(0)).toBe(true);
    expect(memory.byteLength).toBe(before);
  });
});

describe.each(backings.filter((backing) => backing.growable))("growth of a $name", (backing) => {
  it("grows by whole pages and keeps the views whole", () => {
    const memory = backing.create(4 * MiB);
    expect(memory.grow(1)).toBe(true);
    expect(memory.byteLength).toBe(2 * PAGE_SIZE);
    expect(memory.grow(3 * PAGE_SIZE)).toBe(true);
    expect(memory.byteLength).toBe(5 * PAGE_SIZE);
    expect(memory.stats().byteLength).toBe(5 * PAGE_SIZE);
    expect(memory.stats().freeBytes).toBe(4 * PAGE_SIZE);
    expectViewsCover(memory);
  });

  it("refuses to grow past maximum and changes nothing", () => {
    const memory = backing.create(4 * MiB);
    expect(memory.grow(4 * MiB)).toBe(false);
    expect(memory.byteLength).toBe(PAGE_SIZE);
    expect(memory.grow(4 * MiB - PAGE_SIZE)).toBe(true);
    expect(memory.byteLength).toBe(4 * MiB);
    expect(memory.grow(1)).toBe(false);
    expect(memory.grow(2 ** 40)).toBe(false);
    expect(memory.byteLength).toBe(4 * MiB);
    expectViewsCover(memory);
  });

  it("hands out fresh views after a map grew the memory", () => {
    const memory = backing.create(4 * MiB);
    const oldU8 = memory.u8;
    const oldBuffer = memory.buffer;
    const region = memory.map(MiB);
    expect(memory.byteLength).toBe(PAGE_SIZE + MiB);
    if (backing.detaches) {
      // growth detached the old buffer and every view of it
      expect(oldU8.length).toBe(0);
      expect(oldBuffer.byteLength).toBe(0);
      expect(memory.buffer).not.toBe(oldBuffer);
    }
    expectViewsCover(memory);
    expectViewsAgreeAt(memory, region + MiB);
  });

  it("hands out fresh views after grow()", () => {
    const memory = backing.create(4 * MiB);
    const before = memory.dataView;
    expect(memory.grow(2 * PAGE_SIZE)).toBe(true);
    if (backing.detaches) expect(before.buffer.byteLength).toBe(0);
    expectViewsCover(memory);
  });

  it("keeps the bytes of earlier regions across growth", () => {
    const memory = backing.create(4 * MiB);
    const first = memory.map(PAGE_SIZE);
    memory.fill(first, 0x42, PAGE_SIZE);
    memory.map(2 * MiB);
    expect(allBytes(memory, first, PAGE_SIZE, 0x42)).toBe(true);
  });
});

describe.each(backings.filter((backing) => !backing.growable))("a full $name", (backing) => {
  it("cannot grow, and map fails once its pages are taken", () => {
    const memory = backing.create(MiB);
    expect(memory.grow(1)).toBe(false);
    expect(memory.map(MiB)).toBe(0);
    expect(memory.map(MiB - PAGE_SIZE)).toBe(PAGE_SIZE);
    expect(memory.map(1)).toBe(0);
    expect(memory.byteLength).toBe(MiB);
    expectViewsCover(memory);
  });
});

describe("growth from outside tsmalloc", () => {
  it("refreshes the views of a caller's WebAssembly.Memory grown directly", () => {
    const wasm = wasmMemory(1, 64);
    const memory = new LinearMemory({ wasmMemory: wasm, maximum: 4 * MiB });
    const region = memory.map(PAGE_SIZE);
    memory.u8[region] = 9;
    wasm.grow(2);
    expect(memory.byteLength).toBe(4 * PAGE_SIZE);
    expectViewsCover(memory);
    expect(memory.u8[region]).toBe(9);
  });

  it("keeps the region table intact when a caller's WebAssembly.Memory was grown directly", () => {
    const wasm = wasmMemory(1, 64);
    const memory = new LinearMemory({ wasmMemory: wasm, maximum: 4 * MiB });
    const first = memory.map(PAGE_SIZE);
    memory.setRoot("heap", first);
    wasm.grow(2);
    // the region allocator must read the new buffer, not the detached one
    expect(memory.getRoot("heap")).toBe(first);
    expect(memory.generation).toBe(2);
    expect(memory.regionAt(first)).toEqual({ address: first, size: PAGE_SIZE, owner: RegionOwner.User });
    const second = memory.map(PAGE_SIZE);
    expect(second).toBe(2 * PAGE_SIZE);
    expect(memory.regions()).toEqual([
      headerRegion(memory),
      { address: first, size: PAGE_SIZE, owner: RegionOwner.User },
      { address: second, size: PAGE_SIZE, owner: RegionOwner.User },
    ]);
    expect(memory.stats()).toMatchObject({ byteLength: 4 * PAGE_SIZE, mappedBytes: 3 * PAGE_SIZE, regions: 3, generation: 3 });
    wasm.grow(1);
    expect(memory.unmap(first)).toBe(PAGE_SIZE);
    wasm.grow(1);
    expect(memory.remap(second, 2 * PAGE_SIZE)).toBe(true);
    expect(memory.regions()).toEqual([headerRegion(memory), { address: second, size: 2 * PAGE_SIZE, owner: RegionOwner.User }]);
  });

  it("sees a shared WebAssembly.Memory grown directly after sync()", () => {
    const wasm = wasmMemory(1, 64, true);
    const memory = new LinearMemory({ wasmMemory: wasm, maximum: 4 * MiB });
    wasm.grow(3);
    memory.sync();
    expect(memory.byteLength).toBe(4 * PAGE_SIZE);
    expectViewsCover(memory);
    // the pages grown outside are free and mapped without further growth
    expect(memory.map(3 * PAGE_SIZE)).toBe(PAGE_SIZE);
    expect(wasm.buffer.byteLength).toBe(4 * PAGE_SIZE);
  });
});

describe("options object", () => {
  it("accepts an options object with every field left out", () => {
    const options: LinearMemoryOptions = {};
    const memory = new LinearMemory(options);
    expect(memory.shared).toBe(false);
    expect(memory.regions()).toEqual([headerRegion(memory)]);
  });
});
