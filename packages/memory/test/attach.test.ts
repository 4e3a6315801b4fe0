import { Buffer } from "node:buffer";
import { ErrorCode, LinearMemory, type MemorySource, PAGE_SIZE, RegionOwner } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { allBytes, backings, expectError, headerRegion, MiB } from "./support.ts";

const P = PAGE_SIZE;

describe.each(backings)("attach() to the same $name", (backing) => {
  it("sees the same regions, roots, contents and numbers", () => {
    const memory = backing.create(4 * MiB);
    const a = memory.map(2 * P);
    const b = memory.map(P, { owner: RegionOwner.Arena });
    memory.fill(a, 0x61, 2 * P);
    memory.setRoot("heap", a);
    const other = LinearMemory.attach(memory.source);
    expect(other.source).toBe(memory.source);
    expect(other.shared).toBe(memory.shared);
    expect(other.base).toBe(0);
    expect(other.headerBytes).toBe(memory.headerBytes);
    expect(other.maxByteLength).toBe(memory.maxByteLength);
    expect(other.byteLength).toBe(memory.byteLength);
    expect(other.regions()).toEqual(memory.regions());
    expect(other.stats()).toEqual(memory.stats());
    expect(other.getRoot("heap")).toBe(a);
    expect(other.regionAt(b + 1)).toEqual({ address: b, size: P, owner: RegionOwner.Arena });
    expect(allBytes(other, a, 2 * P, 0x61)).toBe(true);
  });

  it("shares one region table: changes through either are seen by both", () => {
    const memory = backing.create(4 * MiB);
    const other = LinearMemory.attach(memory.source);
    const a = memory.map(P);
    const b = other.map(P);
    expect(b).toBe(a + P);
    expect(memory.regionAt(b)).toEqual({ address: b, size: P, owner: RegionOwner.User });
    expect(memory.unmap(b)).toBe(P);
    expectError(() => other.unmap(b), ErrorCode.InvalidPointer);
    expect(other.map(P)).toBe(b);
    expect(memory.generation).toBe(other.generation);
    expect(memory.regions()).toEqual(other.regions());
  });

  it("follows growth done through the other instance", () => {
    const memory = backing.create(4 * MiB);
    const other = LinearMemory.attach(memory.source);
    const first = other.map(P);
    other.setRoot("heap", first);
    const grown = memory.map(2 * MiB);
    memory.fill(grown + 2 * MiB - P, 0x7e, P);
    // the other instance's views and region table follow, whoever grew the memory
    expect(other.byteLength).toBe(memory.byteLength);
    expect(other.u8.length).toBe(memory.byteLength);
    expect(other.u8[grown + 2 * MiB - 1]).toBe(0x7e);
    expect(other.getRoot("heap")).toBe(first);
    expect(other.regions()).toEqual(memory.regions());
    expect(other.stats()).toEqual(memory.stats());
    const next = other.map(P);
    expect(next).toBe(grown + 2 * MiB);
    expect(memory.regions()).toEqual([
      headerRegion(memory),
      { address: first, size: P, owner: RegionOwner.User },
      { address: grown, size: 2 * MiB, owner: RegionOwner.User },
      { address: next, size: P, owner: RegionOwner.User },
    ]);
    expect(allBytes(memory, grown + 2 * MiB - P, P, 0x7e)).toBe(true);
  });

  it("changes nothing in the memory", () => {
    const memory = backing.create(MiB);
    memory.map(3 * P);
    const before = memory.buffer.slice(0, memory.byteLength);
    LinearMemory.attach(memory.source).regions();
    expect(Buffer.from(memory.buffer.slice(0, memory.byteLength)).equals(Buffer.from(before))).toBe(true);
  });
});

describe("attach() to a saved copy", () => {
  it("opens a copy of a fixed buffer with its regions, roots and bytes", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    const a = memory.map(3 * P);
    memory.fill(a, 0x42, 3 * P);
    memory.setRoot("heap", a);
    const saved = (memory.buffer as ArrayBuffer).slice(0);
    const copy = LinearMemory.attach(saved);
    expect(copy.source).toBe(saved);
    expect(copy.regions()).toEqual(memory.regions());
    expect(copy.stats()).toEqual(memory.stats());
    expect(copy.getRoot("heap")).toBe(a);
    expect(allBytes(copy, a, 3 * P, 0x42)).toBe(true);
  });

  it("keeps the copy apart from the original", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    const a = memory.map(P);
    const copy = LinearMemory.attach(memory.buffer.slice(0));
    copy.unmap(a);
    expect(copy.map(2 * P)).toBe(a);
    expect(memory.regions()).toEqual([headerRegion(memory), { address: a, size: P, owner: RegionOwner.User }]);
  });

  it("opens a copy of a grown WebAssembly.Memory as a fixed memory", () => {
    const memory = new LinearMemory({ maximum: 4 * MiB });
    const a = memory.map(MiB);
    memory.fill(a, 0x24, MiB);
    const copy = LinearMemory.attach(memory.buffer.slice(0));
    expect(copy.byteLength).toBe(memory.byteLength);
    expect(copy.maxByteLength).toBe(4 * MiB);
    expect(copy.regions()).toEqual(memory.regions());
    expect(allBytes(copy, a, MiB, 0x24)).toBe(true);
    // a copy cannot grow: map fails where the original would grow
    expect(copy.map(P)).toBe(0);
    expect(memory.map(P)).toBe(a + MiB);
    // unmapped pages of the copy are cleared when they are mapped again
    copy.unmap(a);
    expect(allBytes(copy, copy.map(MiB), MiB, 0)).toBe(true);
  });

  it("opens a copy of a shared memory", () => {
    const memory = new LinearMemory({ shared: true, maximum: 4 * MiB });
    const a = memory.map(2 * P);
    const copy = LinearMemory.attach(memory.buffer.slice(0));
    expect(copy.shared).toBe(true);
    expect(copy.regions()).toEqual(memory.regions());
    expect(copy.unmap(a)).toBe(2 * P);
  });
});

describe("attach() errors", () => {
  it("refuses a zeroed buffer and a garbage buffer with ERR_TSMALLOC_INCOMPATIBLE", () => {
    expectError(() => LinearMemory.attach(new ArrayBuffer(MiB)), ErrorCode.Incompatible);
    const garbage = new ArrayBuffer(MiB);
    const bytes = new Uint8Array(garbage);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    expectError(() => LinearMemory.attach(garbage), ErrorCode.Incompatible);
  });

  it("refuses a header of another version", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    const saved = memory.buffer.slice(0);
    new Uint32Array(saved)[1] = 2;
    const error = expectError(() => LinearMemory.attach(saved), ErrorCode.Incompatible);
    expect(error.message).toContain("version 2");
    expect(error.address).toBe(0);
  });

  it("refuses a damaged header", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    for (const [word, value] of [[4, 9], [5, 3], [6, 0], [6, 70000]] as const) {
      const saved = memory.buffer.slice(0);
      new Uint32Array(saved)[word] = value;
      expectError(() => LinearMemory.attach(saved), ErrorCode.Incompatible);
    }
  });

  it("refuses a truncated buffer", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    memory.map(2 * P);
    expectError(() => LinearMemory.attach(memory.buffer.slice(0, MiB - P)), ErrorCode.Incompatible);
    expectError(() => LinearMemory.attach(memory.buffer.slice(0, P)), ErrorCode.Incompatible);
    expectError(() => LinearMemory.attach(memory.buffer.slice(0, 100)), ErrorCode.Incompatible);
    expectError(() => LinearMemory.attach(new ArrayBuffer(0)), ErrorCode.Incompatible);
  });

  it("finds the header at the base it was created with, and only there", () => {
    const memory = new LinearMemory({ base: 3 * P, maximum: 4 * MiB });
    const a = memory.map(P);
    memory.setRoot("heap", a);
    const error = expectError(() => LinearMemory.attach(memory.source), ErrorCode.Incompatible);
    expect(error.address).toBe(0);
    expectError(() => LinearMemory.attach(memory.source, { base: 2 * P }), ErrorCode.Incompatible);
    expectError(() => LinearMemory.attach(memory.source, { base: 64 * MiB }), ErrorCode.Incompatible);
    const other = LinearMemory.attach(memory.source, { base: 3 * P });
    expect(other.base).toBe(3 * P);
    expect(other.regions()).toEqual(memory.regions());
    expect(other.regions()[0]).toEqual({ address: 0, size: 3 * P, owner: RegionOwner.Host });
    expect(other.getRoot("heap")).toBe(a);
    expect(other.map(P)).toBe(a + P);
  });

  it("rejects a bad base or options with ERR_TSMALLOC_INVALID_OPTION", () => {
    const memory = new LinearMemory({ maximum: MiB });
    for (const base of [1000, -P, 1.5, Number.NaN, "0", 0n]) {
      expectError(() => LinearMemory.attach(memory.source, { base: base as never }), ErrorCode.InvalidOption);
    }
    for (const options of [null, 5, "base"]) {
      expectError(() => LinearMemory.attach(memory.source, options as never), ErrorCode.InvalidOption);
    }
  });

  it("rejects a source that is not a memory with ERR_TSMALLOC_INVALID_OPTION", () => {
    for (const source of [null, undefined, 5, "memory", {}, new Uint8Array(MiB), { buffer: new ArrayBuffer(MiB) }]) {
      expectError(() => LinearMemory.attach(source as never), ErrorCode.InvalidOption);
    }
  });

  it("leaves the next constructor call alone after a failed attach", () => {
    expectError(() => LinearMemory.attach(new ArrayBuffer(MiB)), ErrorCode.Incompatible);
    const fresh = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    expect(fresh.regions()).toEqual([headerRegion(fresh)]);
  });
});

describe("attach() while another worker grows the memory", () => {
  it("reads the memory's size after the header's page count (the grower stores the count after it grows)", () => {
    const memory = new LinearMemory({ shared: true, maximum: 16 * MiB });
    memory.map(4 * MiB);
    const real = memory.source as { readonly buffer: SharedArrayBuffer; grow(pages: number): number };
    // what a worker saw of the memory before the other's growth: the header's page, already
    // saying how far the memory has grown since
    const before = new ArrayBuffer(P);
    new Uint8Array(before).set(new Uint8Array(real.buffer, 0, P));
    let looks = 0;
    const growing = {
      grow: (pages: number): number => real.grow(pages),
      get buffer(): ArrayBuffer | SharedArrayBuffer {
        // the first looks (the source's check, the header's read) come before the growth
        return ++looks <= 2 ? before : real.buffer;
      },
    };
    const other = LinearMemory.attach(growing as unknown as MemorySource);
    expect(other.byteLength).toBe(memory.byteLength);
    expect(other.regions()).toEqual(memory.regions());
  });
});
