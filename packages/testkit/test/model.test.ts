import { AllocatorModel, runHeapsSteps, type SlotHeap } from "@tsmalloc/testkit";
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
  it("runs steps over several heaps (runHeapsSteps): each step through the heap it names, on any live block", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    const calls: string[] = [];
    const heap = (name: string, first: number): SlotHeap => {
      let next = first;
      return {
        malloc: (n) => (calls.push(`${name} malloc ${n}`), (next += 64)),
        calloc: (k, n) => (calls.push(`${name} calloc ${k * n}`), (next += 64)),
        realloc: (p, n) => {
          calls.push(`${name} realloc ${p} ${n}`);
          memory.u8.copyWithin(next + 64, p, p + Math.min(n, 8));
          return (next += 64);
        },
        free: (p) => void calls.push(`${name} free ${p}`),
        drainRemoteFrees: () => (calls.push(`${name} drain`), 0),
      };
    };
    runHeapsSteps(model, [heap("a", 0), heap("b", 2048)], [
      { op: "malloc", heap: 0, size: 8 },
      { op: "calloc", heap: 1, size: 8 },
      { op: "realloc", heap: 1, pick: 0, size: 8 },
      { op: "free", heap: 0, pick: 1 },
      { op: "drain", heap: 1 },
    ]);
    expect(calls).toEqual(["a malloc 8", "b calloc 8", "b realloc 64 8", "a free 2176", "b drain"]);
    expect(model.blocks.map((b) => b.address)).toEqual([2112]);
    // a heap that hands out a block twice is caught
    expect(() => runHeapsSteps(model, [{ ...heap("c", 2112), malloc: () => 2112 }], [{ op: "malloc", heap: 0, size: 8 }])).toThrow(/overlaps/);
  });
});
