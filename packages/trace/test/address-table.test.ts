/*
 * TraceRecorder's table of live blocks by address, against a Map: any sequence of puts, removals
 * and lookups (addresses drawn from a small set, so that they collide and the deletions shift
 * entries back, small ones and ones near 2^53 alike) answers as the Map does, through growth.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AddressTable, slotOf } from "../src/address-table.ts";

const runs = Number(process.env.TSMALLOC_PROPERTY_RUNS ?? (process.env.TSMALLOC_SOAK === "1" ? 5000 : 200));

describe("AddressTable", () => {
  it("answers as a Map does, for any sequence of set, delete and get", () => {
    const address = fc.oneof(
      fc.integer({ min: 1, max: 64 }).map((n) => n * 16),
      fc.integer({ min: 1, max: 64 }).map((n) => 0x5555_0000_0000 + n * 16),
      fc.integer({ min: 1, max: 64 }).map((n) => 2 ** 53 - n),
    );
    const step = fc.tuple(fc.constantFrom("set", "delete", "get"), address, fc.integer({ min: 0, max: 2 ** 32 - 1 }));
    fc.assert(
      fc.property(fc.constantFrom(2, 8, 1024), fc.array(step, { maxLength: 3000 }), (capacity, steps) => {
        // (a small table: runs of entries wrap around its end, and it grows many times)
        const table = new AddressTable(capacity);
        const model = new Map<number, number>();
        for (const [what, at, id] of steps) {
          if (what === "set") {
            table.set(at, id);
            model.set(at, id);
          } else if (what === "delete") {
            expect(table.delete(at)).toBe(model.get(at) ?? -1);
            model.delete(at);
          } else {
            expect(table.get(at)).toBe(model.get(at) ?? -1);
          }
          expect(table.size).toBe(model.size);
        }
        for (const [at, id] of model) expect(table.get(at)).toBe(id);
      }),
      { numRuns: runs },
    );
  });

  it.each([
    ["at its start, after the wrap", [7, 7, 7], 1],
    ["before the wrap", [6, 6, 6], 1],
    ["before the wrap, of blocks whose home is after it", [6, 7, 7], 0],
    ["before the wrap, of a block at its home after it", [6, 6, 0], 0],
  ])("keeps every address findable after a removal in a run that wraps past the last slot: %s", (_where, homes, removed) => {
    // addresses whose home slots (of 8) are `homes`, put in that order: they lie in one run from slot 6 or 7 on
    const addresses: number[] = [];
    for (const home of homes) {
      let k = 1;
      while (slotOf(k * 16, 7) !== home || addresses.includes(k * 16)) k++;
      addresses.push(k * 16);
    }
    const table = new AddressTable(8);
    addresses.forEach((address, id) => table.set(address, id));
    expect(table.delete(addresses[removed]!)).toBe(removed);
    addresses.forEach((address, id) => expect(table.get(address)).toBe(id === removed ? -1 : id));
    for (const [id, address] of addresses.entries()) if (id !== removed) expect(table.delete(address)).toBe(id);
    expect(table.size).toBe(0);
  });

  it("grows past its first 1024 slots, and finds every address after removals", () => {
    const table = new AddressTable();
    const base = 0x7f00_0000_0000;
    for (let i = 0; i < 100_000; i++) table.set(base + i * 48, i);
    for (let i = 0; i < 100_000; i += 2) expect(table.delete(base + i * 48)).toBe(i);
    expect(table.size).toBe(50_000);
    for (let i = 0; i < 100_000; i++) expect(table.get(base + i * 48)).toBe(i % 2 === 1 ? i : -1);
    expect(table.delete(base + 2 * 48)).toBe(-1);
  });
});
