import { ErrorCode, LinearMemory, PAGE_SIZE } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectError, MiB } from "./support.ts";

/** 24 distinct valid tags. */
const tags = Array.from({ length: 24 }, (_, i) => `r${String.fromCharCode(0x41 + i)}`);

describe("roots", () => {
  it("records an address under a tag and reads it back", () => {
    const memory = new LinearMemory({ maximum: MiB });
    const heap = memory.map(PAGE_SIZE);
    expect(memory.setRoot("heap", heap)).toBe(true);
    expect(memory.getRoot("heap")).toBe(heap);
    expect(memory.setRoot("a", 12)).toBe(true);
    expect(memory.setRoot("~!#z", 2 ** 32 - 1)).toBe(true);
    expect(memory.getRoot("a")).toBe(12);
    expect(memory.getRoot("~!#z")).toBe(2 ** 32 - 1);
    expect(memory.getRoot("heap")).toBe(heap);
  });

  it("reads 0 for a tag never recorded", () => {
    const memory = new LinearMemory({ maximum: MiB });
    expect(memory.getRoot("none")).toBe(0);
    memory.setRoot("abc", 5);
    expect(memory.getRoot("abcd")).toBe(0);
    expect(memory.getRoot("ab")).toBe(0);
  });

  it("tells tags apart by every character and by case", () => {
    const memory = new LinearMemory({ maximum: MiB });
    const names = ["a", "aa", "aaa", "aaaa", "A", "aA", "Aa", "baaa", "aaab"];
    names.forEach((tag, i) => expect(memory.setRoot(tag, 100 + i)).toBe(true));
    names.forEach((tag, i) => expect(memory.getRoot(tag)).toBe(100 + i));
  });

  it("replaces the address of a tag recorded before, in the same slot", () => {
    const memory = new LinearMemory({ maximum: MiB });
    for (const tag of tags.slice(0, 23)) memory.setRoot(tag, 1);
    memory.setRoot("heap", 1000);
    expect(memory.setRoot("heap", 2000)).toBe(true);
    expect(memory.getRoot("heap")).toBe(2000);
    // the table is full, so the replacement did not take a second slot
    expect(memory.setRoot("more", 1)).toBe(false);
  });

  it("clears a tag with address 0 and frees its slot", () => {
    const memory = new LinearMemory({ maximum: MiB });
    memory.setRoot("heap", 1000);
    expect(memory.setRoot("heap", 0)).toBe(true);
    expect(memory.getRoot("heap")).toBe(0);
    expect(memory.setRoot("gone", 0)).toBe(true);
    expect(memory.getRoot("gone")).toBe(0);
    for (const tag of tags) expect(memory.setRoot(tag, 7)).toBe(true);
    expect(memory.setRoot("last", 7)).toBe(false);
    expect(memory.setRoot(tags[5]!, 0)).toBe(true);
    expect(memory.setRoot("last", 8)).toBe(true);
    expect(memory.getRoot("last")).toBe(8);
    expect(memory.getRoot(tags[5]!)).toBe(0);
  });

  it("holds 24 roots and returns false for a 25th, changing nothing", () => {
    const memory = new LinearMemory({ maximum: MiB });
    tags.forEach((tag, i) => expect(memory.setRoot(tag, 1000 + i)).toBe(true));
    expect(memory.setRoot("full", 1)).toBe(false);
    expect(memory.getRoot("full")).toBe(0);
    tags.forEach((tag, i) => expect(memory.getRoot(tag)).toBe(1000 + i));
    // replacing and clearing still work on a full table
    expect(memory.setRoot(tags[0]!, 5)).toBe(true);
    expect(memory.getRoot(tags[0]!)).toBe(5);
    expect(memory.setRoot("full", 0)).toBe(true);
  });

  it("rejects bad tags with ERR_TSMALLOC_INVALID_OPTION", () => {
    const memory = new LinearMemory({ maximum: MiB });
    memory.setRoot("heap", 64);
    const bad: unknown[] = ["", "heaps", "é", "ab\u00e9", "a b", " ", "\u0000", "a\n", "\u{1f600}", 5, 0x70616568, null, undefined, {}, ["heap"]];
    for (const tag of bad) {
      expectError(() => memory.setRoot(tag as never, 1), ErrorCode.InvalidOption);
      expectError(() => memory.getRoot(tag as never), ErrorCode.InvalidOption);
    }
    expect(memory.getRoot("heap")).toBe(64);
  });

  it("rejects addresses that are not 32-bit integers with ERR_TSMALLOC_INVALID_POINTER", () => {
    const memory = new LinearMemory({ maximum: MiB });
    for (const address of [-1, 1.5, 2 ** 32, Number.NaN, "64", 64n, undefined, null]) {
      expectError(() => memory.setRoot("heap", address as never), ErrorCode.InvalidPointer);
    }
    expect(memory.getRoot("heap")).toBe(0);
  });

  it("does not count as a region change", () => {
    const memory = new LinearMemory({ maximum: MiB });
    const before = memory.stats();
    memory.setRoot("heap", 64);
    expect(memory.stats()).toEqual(before);
  });

  it("works on a shared memory and a memory above a base", () => {
    const shared = new LinearMemory({ shared: true, maximum: MiB });
    expect(shared.setRoot("heap", 123)).toBe(true);
    expect(shared.getRoot("heap")).toBe(123);
    const based = new LinearMemory({ base: 2 * PAGE_SIZE, maximum: MiB });
    expect(based.setRoot("heap", 456)).toBe(true);
    expect(based.getRoot("heap")).toBe(456);
    // the table lives in the header at base
    expect(LinearMemory.attach(based.source, { base: 2 * PAGE_SIZE }).getRoot("heap")).toBe(456);
  });

  it("survives attach, on the same memory and on a saved copy", () => {
    const memory = new LinearMemory({ buffer: new ArrayBuffer(MiB) });
    memory.setRoot("heap", 4096);
    memory.setRoot("pool", 8192);
    const same = LinearMemory.attach(memory.source);
    expect(same.getRoot("heap")).toBe(4096);
    expect(same.getRoot("pool")).toBe(8192);
    same.setRoot("new", 1);
    expect(memory.getRoot("new")).toBe(1);
    const copy = LinearMemory.attach(memory.buffer.slice(0));
    expect(copy.getRoot("heap")).toBe(4096);
    copy.setRoot("heap", 0);
    expect(memory.getRoot("heap")).toBe(4096);
  });

  it("setRootIfAbsent records only the first address of a tag, and says which one the tag has", () => {
    const memory = new LinearMemory({ shared: true, maximum: MiB });
    expect(memory.setRootIfAbsent("tstm", 4096)).toBe(4096);
    expect(memory.setRootIfAbsent("tstm", 8192)).toBe(4096);
    expect(memory.getRoot("tstm")).toBe(4096);
    // a tag set with setRoot counts as present; cleared, it can be claimed again
    memory.setRoot("heap", 64);
    expect(memory.setRootIfAbsent("heap", 128)).toBe(64);
    memory.setRoot("heap", 0);
    expect(memory.setRootIfAbsent("heap", 128)).toBe(128);
    expect(LinearMemory.attach(memory.source).setRootIfAbsent("heap", 256)).toBe(128);
  });

  it("setRootIfAbsent returns 0 on a full table, changing nothing, and still answers for a present tag", () => {
    const memory = new LinearMemory({ maximum: MiB });
    tags.forEach((tag, i) => memory.setRoot(tag, 1000 + i));
    expect(memory.setRootIfAbsent("full", 1)).toBe(0);
    expect(memory.getRoot("full")).toBe(0);
    expect(memory.setRootIfAbsent(tags[3]!, 1)).toBe(1003);
    tags.forEach((tag, i) => expect(memory.getRoot(tag)).toBe(1000 + i));
  });

  it("setRootIfAbsent rejects bad tags and addresses (0 included), changing nothing", () => {
    const memory = new LinearMemory({ maximum: MiB });
    for (const tag of ["", "heaps", 5, null]) expectError(() => memory.setRootIfAbsent(tag as never, 1), ErrorCode.InvalidOption);
    for (const address of [0, -1, 1.5, 2 ** 32, Number.NaN, "64", undefined]) {
      expectError(() => memory.setRootIfAbsent("heap", address as never), ErrorCode.InvalidPointer);
    }
    expect(memory.getRoot("heap")).toBe(0);
  });
});
