import { AllocatorModel, findMismatch, parseTrace, patternByte, ReplayMismatch, replayTimed, replayVerified, type ReplayAllocator } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

/** A bump allocator over a plain buffer; `overlap` makes it hand out overlapping blocks. */
class Bump implements ReplayAllocator {
  readonly memory = { u8: new Uint8Array(1 << 20) };
  #top = 16;
  readonly #overlap: boolean;
  readonly #step: number;
  freed = 0;
  /** `step`: the granule of block sizes and so the alignment of the blocks (16 unless given). */
  constructor(overlap = false, step = 16) {
    this.#overlap = overlap;
    this.#step = step;
  }
  malloc(size: number): number {
    const p = this.#top;
    this.#top += this.#overlap ? this.#step : Math.ceil(Math.max(size, 1) / this.#step) * this.#step;
    return p;
  }
  calloc(nelem: number, elsize: number): number {
    const p = this.malloc(nelem * elsize);
    this.memory.u8.fill(0, p, p + nelem * elsize);
    return p;
  }
  realloc(p: number, size: number): number {
    const q = this.malloc(size);
    this.memory.u8.copyWithin(q, p, p + size);
    return q;
  }
  free(): void {
    this.freed++;
  }
}

const trace = parseTrace(new TextEncoder().encode("a 0 40\nc 1 3 8\nr 0 2 100\na 3 16\nf 1\nf 2\n"), "t");

describe("replayVerified", () => {
  it("replays a trace through a correct allocator and reports its peak", () => {
    const bump = new Bump();
    const result = replayVerified(trace, bump, { release: true });
    expect(result.events).toBe(6);
    expect(result.peakLiveBytes).toBe(40 + 24 + 100 - 40 + 16);
    expect(result.peakLiveBlocks).toBe(3);
    expect(result.liveBlocks).toBe(1);
    expect(result.failures).toBe(0);
    expect(bump.freed).toBe(3);
  });

  it("catches an allocator that hands out overlapping blocks, with the event number", () => {
    expect(() => replayVerified(trace, new Bump(true))).toThrow(ReplayMismatch);
    try {
      replayVerified(trace, new Bump(true));
    } catch (e) {
      expect((e as ReplayMismatch).event).toBe(2);
      expect((e as ReplayMismatch).message).toMatch(/^event 2: /);
    }
  });

  it("requires 16-byte alignment unless told another", () => {
    expect(() => replayVerified(trace, new Bump(false, 8))).toThrow(/event 1: block 1 at 0x38 is not 16-byte aligned/);
    expect(replayVerified(trace, new Bump(false, 8), { alignment: 8 }).failures).toBe(0);
  });

  it("calls the checkpoint every N events and at the end", () => {
    const seen: number[] = [];
    replayVerified(trace, new Bump(), { every: 2, checkpoint: (e) => seen.push(e) });
    expect(seen).toEqual([1, 3, 5, 6]);
  });
});

describe("replayTimed", () => {
  it("runs every event and counts NULL returns", () => {
    const bump = new Bump();
    expect(replayTimed(trace, bump, new Float64Array(trace.ids))).toBe(0);
    expect(bump.freed).toBe(2);
    const failing = { malloc: () => 0, calloc: () => 0, realloc: () => 0, free: () => undefined };
    expect(replayTimed(trace, failing, new Float64Array(trace.ids))).toBe(4);
  });
});

describe("findMismatch / patternByte", () => {
  it("finds the first differing byte at any alignment and length", () => {
    const u8 = new Uint8Array(256).fill(7);
    for (const [start, length] of [[0, 0], [1, 3], [3, 200], [16, 64]] as const) {
      expect(findMismatch(u8, start, length, 7)).toBe(-1);
    }
    u8[150] = 9;
    expect(findMismatch(u8, 3, 200, 7)).toBe(150);
    expect(findMismatch(u8, 151, 20, 7)).toBe(-1);
  });

  it("works for addresses at and above 2^31", () => {
    // 2 GiB + 64 KiB, of which only the last 64 KiB are ever touched
    const u8 = new Uint8Array(2 ** 31 + 65536);
    u8.fill(7, 2 ** 31, 2 ** 31 + 64);
    expect(findMismatch(u8, 2 ** 31 + 1, 39, 7)).toBe(-1);
    u8[2 ** 31 + 30] = 1;
    expect(findMismatch(u8, 2 ** 31 + 1, 39, 7)).toBe(2 ** 31 + 30);
  });

  it("never uses 0 and differs between neighbouring ids", () => {
    for (let id = 0; id < 1000; id++) {
      expect(patternByte(id)).toBeGreaterThan(0);
      expect(patternByte(id)).toBeLessThan(256);
      expect(patternByte(id)).not.toBe(patternByte(id + 1));
    }
  });
});

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
