import { AllocatorModel } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

describe("AllocatorModel", () => {
  it("accepts disjoint aligned blocks and checks contents on free", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    model.allocated(16, 10);
    model.allocated(32, 16, false);
    expect(model.size).toBe(2);
    model.freed(16);
    expect(model.size).toBe(1);
    memory.u8[40] = 0xff;
    expect(() => model.freed(32)).toThrow(/overwritten at \+8/);
  });

  it("refuses overlap, misalignment, leaving the memory and dirty calloc blocks", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    model.allocated(64, 32);
    expect(() => model.allocated(80, 16)).toThrow(/overlaps/);
    expect(() => model.allocated(8, 16)).toThrow(/aligned/);
    expect(() => model.allocated(4080, 32)).toThrow(/leaves the memory/);
    memory.u8[200] = 1;
    expect(() => model.allocated(192, 16, true)).toThrow(/not zero/);
    model.allocated(0, 16); // 0 is a failed allocation: ignored
    expect(model.size).toBe(1);
  });

  it("checks the kept prefix on realloc and the old block on a failed realloc", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    model.allocated(64, 32);
    memory.u8.copyWithin(256, 64, 96);
    model.reallocated(64, 256, 64);
    expect(model.get(256)?.size).toBe(64);
    model.reallocated(256, 0, 1000);
    expect(model.get(256)).toBeDefined();
    model.allocated(512, 16);
    expect(() => model.reallocated(512, 1024, 16)).toThrow(/lost its contents/);
  });
});
