/*
 * The region allocator against a model: random sequences of map, unmap, remap and invalid unmaps
 * on a small memory (so that maps and remaps also fail), checked after every step.
 *
 * The model is first fit over a page array: a region goes at the lowest aligned run of free
 * pages, or nowhere when no run fits below the maximum. It predicts every address, every success
 * and failure, the region table, the statistics and the memory's size.
 *
 * TSMALLOC_SOAK=1 runs many more and longer sequences; TSMALLOC_PROPERTY_RUNS=n sets the number
 * of sequences.
 */
import { ErrorCode, LinearMemory, PAGE_SIZE, type Region, RegionOwner } from "@tsmalloc/memory";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allBytes, expectError, MiB } from "./support.ts";

const soak = process.env.TSMALLOC_SOAK === "1";
const runs = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? (soak ? 2000 : 100));
const maxCommands = soak ? 200 : 50;

const P = PAGE_SIZE;
const MAXIMUM = 8 * MiB;
const MAX_PAGES = MAXIMUM / P;
const HEADER_PAGES = 1;

type BackingName = "wasm" | "shared wasm" | "fixed" | "dirty fixed" | "resizable" | "growable shared";

function create(backing: BackingName): LinearMemory {
  switch (backing) {
    case "wasm":
      return new LinearMemory({ maximum: MAXIMUM });
    case "shared wasm":
      return new LinearMemory({ maximum: MAXIMUM, shared: true });
    case "fixed":
      return new LinearMemory({ buffer: new ArrayBuffer(MAXIMUM) });
    case "dirty fixed": {
      // a caller's buffer full of old data: every page must be cleared when first mapped
      const buffer = new ArrayBuffer(MAXIMUM);
      new Uint8Array(buffer).fill(0xa5);
      return new LinearMemory({ buffer });
    }
    case "resizable":
      return new LinearMemory({ buffer: new ArrayBuffer(0, { maxByteLength: MAXIMUM }) });
    case "growable shared":
      return new LinearMemory({ buffer: new SharedArrayBuffer(0, { maxByteLength: MAXIMUM }) });
  }
}

type Command =
  | { readonly kind: "map"; readonly size: number; readonly alignShift: number; readonly owner: number }
  | { readonly kind: "unmap"; readonly pick: number }
  | { readonly kind: "remap"; readonly pick: number; readonly size: number }
  | { readonly kind: "bad"; readonly page: number; readonly offset: number };

const size = fc.integer({ min: 1, max: 3 * MiB });
const command: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("map" as const), size, alignShift: fc.integer({ min: 16, max: 21 }), owner: fc.integer({ min: 3, max: 63 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant("unmap" as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("remap" as const), pick: fc.nat(), size }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant("bad" as const), page: fc.nat({ max: MAX_PAGES + 2 }), offset: fc.constantFrom(0, 1, P / 2, P - 8) }), weight: 1 },
);
const backing = fc.constantFrom<BackingName>("wasm", "shared wasm", "fixed", "dirty fixed", "resizable", "growable shared");

/** A live region of the model, filled with `fill`. */
interface ModelRegion {
  readonly address: number;
  size: number;
  readonly owner: number;
  readonly fill: number;
}

class Model {
  readonly regions = new Map<number, ModelRegion>();
  /** Pages the memory holds: growth goes exactly as far as a region needs. */
  committed: number;
  generation = 1;
  #nextFill = 1;

  constructor(growable: boolean) {
    this.committed = growable ? HEADER_PAGES : MAX_PAGES;
  }

  /** One flag per page: true when the header or a live region holds it. */
  used(): boolean[] {
    const used = Array.from({ length: MAX_PAGES }, (_, page) => page < HEADER_PAGES);
    for (const region of this.regions.values()) {
      for (let page = region.address / P; page < (region.address + region.size) / P; page++) used[page] = true;
    }
    return used;
  }

  /** First fit: the lowest `alignPages`-aligned run of `pages` free pages, or -1. */
  firstFit(pages: number, alignPages: number): number {
    const used = this.used();
    for (let start = 0; start + pages <= MAX_PAGES; start += alignPages) {
      let page = start;
      while (page < start + pages && !used[page]) page++;
      if (page === start + pages) return start;
    }
    return -1;
  }

  /** True when the `pages` pages from `from` are free and inside the maximum. */
  free(from: number, pages: number): boolean {
    if (from + pages > MAX_PAGES) return false;
    const used = this.used();
    for (let page = from; page < from + pages; page++) if (used[page]) return false;
    return true;
  }

  nextFill(): number {
    const fill = this.#nextFill;
    this.#nextFill = (fill % 255) + 1;
    return fill;
  }

  /** The region table regions() must report. */
  table(): Region[] {
    const live = [...this.regions.values()]
      .sort((a, b) => a.address - b.address)
      .map((region) => ({ address: region.address, size: region.size, owner: region.owner }));
    return [{ address: 0, size: HEADER_PAGES * P, owner: RegionOwner.Memory }, ...live];
  }

  mappedBytes(): number {
    let pages = HEADER_PAGES * P;
    for (const region of this.regions.values()) pages += region.size;
    return pages;
  }
}

/** Picks the live region `pick` selects, or undefined when there is none. */
function pickRegion(model: Model, pick: number): ModelRegion | undefined {
  const live = [...model.regions.values()];
  return live.length === 0 ? undefined : live[pick % live.length];
}

function step(memory: LinearMemory, model: Model, command: Command): void {
  switch (command.kind) {
    case "map": {
      const pages = Math.ceil(command.size / P);
      const alignment = 2 ** command.alignShift;
      const expected = model.firstFit(pages, Math.max(1, alignment / P));
      const address = memory.map(command.size, { alignment, owner: command.owner });
      expect(address).toBe(expected < 0 ? 0 : expected * P);
      if (address === 0) return;
      expect(address % alignment).toBe(0);
      expect(allBytes(memory, address, pages * P, 0)).toBe(true);
      const region: ModelRegion = { address, size: pages * P, owner: command.owner, fill: model.nextFill() };
      memory.fill(address, region.fill, region.size);
      model.regions.set(address, region);
      model.committed = Math.max(model.committed, address / P + pages);
      model.generation++;
      return;
    }
    case "unmap": {
      const region = pickRegion(model, command.pick);
      if (region === undefined) return;
      expect(allBytes(memory, region.address, region.size, region.fill)).toBe(true);
      expect(memory.unmap(region.address)).toBe(region.size);
      model.regions.delete(region.address);
      model.generation++;
      return;
    }
    case "remap": {
      const region = pickRegion(model, command.pick);
      if (region === undefined) return;
      const pages = Math.ceil(command.size / P);
      const oldPages = region.size / P;
      const end = region.address / P + oldPages;
      const fits = pages <= oldPages || model.free(end, pages - oldPages);
      expect(memory.remap(region.address, command.size)).toBe(fits);
      if (!fits || pages === oldPages) return;
      if (pages > oldPages) {
        expect(allBytes(memory, end * P, (pages - oldPages) * P, 0)).toBe(true);
        memory.fill(end * P, region.fill, (pages - oldPages) * P);
        model.committed = Math.max(model.committed, end + pages - oldPages);
      }
      region.size = pages * P;
      model.generation++;
      return;
    }
    case "bad": {
      const address = command.page * P + command.offset;
      if (command.offset === 0 && model.regions.has(address)) return;
      const before = memory.regions();
      expectError(() => memory.unmap(address), ErrorCode.InvalidPointer);
      expectError(() => memory.remap(address, P), ErrorCode.InvalidPointer);
      expect(memory.regions()).toEqual(before);
      return;
    }
  }
}

/** Everything the model predicts, checked after every step. */
function check(memory: LinearMemory, model: Model): void {
  const regions = memory.regions();
  expect(regions).toEqual(model.table());
  for (let i = 1; i < regions.length; i++) {
    const previous = regions[i - 1]!;
    expect(previous.address + previous.size).toBeLessThanOrEqual(regions[i]!.address);
  }
  for (const region of model.regions.values()) {
    expect(region.address % P).toBe(0);
    expect(allBytes(memory, region.address, region.size, region.fill)).toBe(true);
  }
  const mapped = model.mappedBytes();
  expect(memory.stats()).toEqual({
    pageSize: P,
    byteLength: model.committed * P,
    maxByteLength: MAXIMUM,
    mappedBytes: mapped,
    freeBytes: model.committed * P - mapped,
    regions: model.regions.size + 1,
    generation: model.generation,
  });
  expect(memory.byteLength).toBe(model.committed * P);
  expect(memory.u8.length).toBe(model.committed * P);
}

describe("the region allocator against a model", () => {
  it(`agrees with first fit over ${runs} random sequences of up to ${maxCommands} commands`, { timeout: soak ? 3_600_000 : 60_000 }, () => {
    fc.assert(
      fc.property(backing, fc.array(command, { minLength: 1, maxLength: maxCommands, size: "max" }), (name, commands) => {
        const memory = create(name);
        const model = new Model(name !== "fixed" && name !== "dirty fixed");
        check(memory, model);
        for (const next of commands) {
          step(memory, model, next);
          check(memory, model);
        }
      }),
      { numRuns: runs },
    );
  });

  it("fails maps and remaps once the small memory is full, and recovers after unmaps", () => {
    const memory = create("wasm");
    const model = new Model(true);
    const big: Command = { kind: "map", size: 3 * MiB, alignShift: 16, owner: RegionOwner.User };
    for (let i = 0; i < 3; i++) step(memory, model, big);
    expect(model.regions.size).toBe(2);
    step(memory, model, { kind: "remap", pick: 1, size: 4 * MiB });
    step(memory, model, { kind: "unmap", pick: 0 });
    step(memory, model, big);
    check(memory, model);
    expect(model.regions.size).toBe(2);
  });
});
