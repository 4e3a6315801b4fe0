import { ErrorCode, LinearMemory, PAGE_SIZE, type TypedArrayConstructorOf } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { allBytes, expectError, MiB } from "./support.ts";

const P = PAGE_SIZE;
const badLengths: unknown[] = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "4", 4n, undefined, null];
const badAddresses: unknown[] = [-8, 1.5, Number.NaN, "8", 8n, undefined, null, 2 ** 32];

/** A memory with one mapped region of `pages` pages at 64 KiB, on a fixed buffer of 1 MiB. */
function withRegion(pages = 2): { memory: LinearMemory; region: number } {
  const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
  return { memory, region: memory.map(pages * P) };
}

describe("view", () => {
  it("shares the memory's bytes", () => {
    const { memory, region } = withRegion();
    const view = memory.view(Float64Array, region + 8, 4);
    expect(view).toBeInstanceOf(Float64Array);
    expect(view.length).toBe(4);
    expect(view.byteOffset).toBe(region + 8);
    expect(view.buffer).toBe(memory.buffer);
    view[3] = Math.PI;
    expect(memory.f64[(region + 8) / 8 + 3]).toBe(Math.PI);
    memory.dataView.setFloat64(region + 8, -2.5, true);
    expect(view[0]).toBe(-2.5);
  });

  it("takes any typed array constructor", () => {
    const { memory, region } = withRegion();
    const ints = memory.view(Int32Array, region, 2);
    ints[1] = -7;
    expect(memory.i32[region / 4 + 1]).toBe(-7);
    const bigs = memory.view(BigUint64Array, region + 16, 1);
    bigs[0] = 2n ** 63n;
    expect(memory.u8[region + 23]).toBe(0x80);
    expect(memory.view(Uint8Array, region + 3, 5).byteOffset).toBe(region + 3);
  });

  it("reaches the last element of the memory and allows empty views", () => {
    const { memory } = withRegion(15);
    expect(memory.view(Float64Array, MiB - 8, 1).length).toBe(1);
    expect(memory.view(Float64Array, MiB, 0).length).toBe(0);
    expect(memory.view(Uint16Array, 0, 0).length).toBe(0);
  });

  it("refuses a misaligned address with ERR_TSMALLOC_INVALID_POINTER", () => {
    const { memory, region } = withRegion();
    const cases: Array<[TypedArrayConstructorOf<ArrayBufferView>, number]> = [[Float64Array, region + 4], [Int32Array, region + 2], [Uint16Array, region + 1]];
    for (const [type, address] of cases) {
      const error = expectError(() => memory.view(type, address, 1), ErrorCode.InvalidPointer);
      expect(error.address).toBe(address);
    }
  });

  it("refuses a range that leaves the memory with ERR_TSMALLOC_INVALID_POINTER", () => {
    const { memory } = withRegion();
    expectError(() => memory.view(Float64Array, MiB - 8, 2), ErrorCode.InvalidPointer);
    expectError(() => memory.view(Float64Array, MiB, 1), ErrorCode.InvalidPointer);
    expectError(() => memory.view(Uint8Array, 2 ** 32 - 1, 1), ErrorCode.InvalidPointer);
    expectError(() => memory.view(Float64Array, 0, 2 ** 40), ErrorCode.InvalidPointer);
  });

  it("rejects bad addresses and lengths", () => {
    const { memory, region } = withRegion();
    for (const address of badAddresses) expectError(() => memory.view(Float64Array, address as never, 1), ErrorCode.InvalidPointer);
    for (const length of badLengths) expectError(() => memory.view(Float64Array, region, length as never), ErrorCode.InvalidSize);
  });

  it("covers memory grown since the memory was created", () => {
    const memory = new LinearMemory({ maximum: 4 * MiB });
    const region = memory.map(2 * MiB);
    const view = memory.view(Uint32Array, region + 2 * MiB - 16, 4);
    view[3] = 0xdeadbeef;
    expect(memory.u32[(region + 2 * MiB) / 4 - 1]).toBe(0xdeadbeef);
  });
});

describe("bytes", () => {
  it("returns a Uint8Array that shares the memory", () => {
    const { memory, region } = withRegion();
    const bytes = memory.bytes(region + 10, 20);
    expect(bytes.length).toBe(20);
    expect(bytes.byteOffset).toBe(region + 10);
    expect(bytes.buffer).toBe(memory.buffer);
    bytes[19] = 0xab;
    expect(memory.u8[region + 29]).toBe(0xab);
    expect(memory.bytes(MiB, 0).length).toBe(0);
  });

  it("refuses ranges outside the memory and bad arguments", () => {
    const { memory, region } = withRegion();
    expectError(() => memory.bytes(MiB - 10, 11), ErrorCode.InvalidPointer);
    expectError(() => memory.bytes(MiB + 1, 0), ErrorCode.InvalidPointer);
    for (const address of badAddresses) expectError(() => memory.bytes(address as never, 1), ErrorCode.InvalidPointer);
    for (const length of badLengths) expectError(() => memory.bytes(region, length as never), ErrorCode.InvalidSize);
  });
});

describe("fill", () => {
  it("sets exactly the bytes of the range", () => {
    const { memory, region } = withRegion();
    memory.fill(region + 3, 0xcc, 100);
    expect(memory.u8[region + 2]).toBe(0);
    expect(allBytes(memory, region + 3, 100, 0xcc)).toBe(true);
    expect(memory.u8[region + 103]).toBe(0);
    memory.fill(region + 3, 0, 0);
    expect(memory.u8[region + 3]).toBe(0xcc);
    memory.fill(region, 255, 1);
    memory.fill(MiB - 1, 1, 1);
    expect(memory.u8[region]).toBe(255);
    expect(memory.u8[MiB - 1]).toBe(1);
  });

  it("accepts only byte values, with ERR_TSMALLOC_INVALID_SIZE otherwise", () => {
    const { memory, region } = withRegion();
    for (const value of [-1, 256, 1.5, Number.NaN, "1", 1n, undefined, null]) {
      expectError(() => memory.fill(region, value as never, 4), ErrorCode.InvalidSize);
    }
    expect(allBytes(memory, region, 4, 0)).toBe(true);
  });

  it("refuses ranges outside the memory and bad arguments", () => {
    const { memory, region } = withRegion();
    expectError(() => memory.fill(MiB - 4, 1, 5), ErrorCode.InvalidPointer);
    for (const address of badAddresses) expectError(() => memory.fill(address as never, 1, 1), ErrorCode.InvalidPointer);
    for (const length of badLengths) expectError(() => memory.fill(region, 1, length as never), ErrorCode.InvalidSize);
    expect(memory.u8[MiB - 1]).toBe(0);
  });
});

describe("copy", () => {
  /** Writes 0, 1, 2, ... into `length` bytes at `address`. */
  function ramp(memory: LinearMemory, address: number, length: number): void {
    for (let i = 0; i < length; i++) memory.u8[address + i] = i;
  }

  it("copies between separate ranges", () => {
    const { memory, region } = withRegion();
    ramp(memory, region, 50);
    memory.copy(region + 1000, region, 50);
    expect([...memory.bytes(region + 1000, 50)]).toEqual([...memory.bytes(region, 50)]);
    expect(memory.u8[region + 1050]).toBe(0);
  });

  it("copies overlapping ranges forwards like memmove", () => {
    const { memory, region } = withRegion();
    ramp(memory, region, 10);
    memory.copy(region + 3, region, 10);
    expect([...memory.bytes(region, 13)]).toEqual([0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("copies overlapping ranges backwards like memmove", () => {
    const { memory, region } = withRegion();
    ramp(memory, region, 10);
    memory.copy(region, region + 3, 7);
    expect([...memory.bytes(region, 10)]).toEqual([3, 4, 5, 6, 7, 8, 9, 7, 8, 9]);
  });

  it("copies nothing for length 0", () => {
    const { memory, region } = withRegion();
    ramp(memory, region, 4);
    memory.copy(region, region + 2, 0);
    expect([...memory.bytes(region, 4)]).toEqual([0, 1, 2, 3]);
  });

  it("refuses a source or target range outside the memory and bad arguments", () => {
    const { memory, region } = withRegion();
    ramp(memory, region, 8);
    expectError(() => memory.copy(MiB - 4, region, 8), ErrorCode.InvalidPointer);
    expectError(() => memory.copy(region, MiB - 4, 8), ErrorCode.InvalidPointer);
    for (const address of badAddresses) {
      expectError(() => memory.copy(address as never, region, 1), ErrorCode.InvalidPointer);
      expectError(() => memory.copy(region, address as never, 1), ErrorCode.InvalidPointer);
    }
    for (const length of badLengths) expectError(() => memory.copy(region + 8, region, length as never), ErrorCode.InvalidSize);
    expect(allBytes(memory, MiB - 4, 4, 0)).toBe(true);
    expect(allBytes(memory, region + 8, 8, 0)).toBe(true);
  });
});
