/*
 * isPtrFreed and isFreed, CPython's _PyMem_IsPtrFreed and _PyObject_IsFreed, beyond the four
 * cases of test_mem.py (cpython.test.ts).
 */
import { CLEANBYTE, DEADBYTE, FORBIDDENBYTE, isFreed, isPtrFreed } from "@tsmalloc/debug";
import { LinearMemory } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { hooked } from "./helpers.ts";

describe("isPtrFreed", () => {
  it("recognises NULL and the three fill patterns in a 32-bit word, through either typed view", () => {
    for (const value of [0, 0xcdcdcdcd, 0xdddddddd, 0xfdfdfdfd]) {
      expect(isPtrFreed(value)).toBe(true);
      expect(isPtrFreed(value | 0)).toBe(true); // as an Int32Array reads it
    }
    for (const value of [1, 0xcdcdcdcc, 0xcdcd, 0xdddddddd + 1, 0xfefefefe, 0x80000000, -1]) expect(isPtrFreed(value)).toBe(false);
  });

  it("recognises them in a 64-bit word, through either BigInt view", () => {
    const words = new BigUint64Array(4);
    new Uint8Array(words.buffer).set([...Array(8).fill(CLEANBYTE), ...Array(8).fill(DEADBYTE), ...Array(8).fill(FORBIDDENBYTE)]);
    const signed = new BigInt64Array(words.buffer);
    for (let i = 0; i < 4; i++) {
      expect(isPtrFreed(words[i]!)).toBe(true);
      expect(isPtrFreed(signed[i]!)).toBe(true);
    }
    for (const value of [1n, 0xcdcdcdcdn, 0xcdcdcdcdcdcdcdcen, 0xdddddddddddddddn, -1n]) expect(isPtrFreed(value)).toBe(false);
  });
});

describe("isFreed", () => {
  it("reads the 64-bit type slot at ptr + 8", () => {
    const memory = new LinearMemory();
    const at = memory.map(1 << 16);
    for (const [byte, freed] of [[0, true], [CLEANBYTE, true], [DEADBYTE, true], [FORBIDDENBYTE, true], [0x12, false]] as const) {
      memory.u8.fill(byte, at + 8, at + 16);
      expect(isFreed(memory, at)).toBe(freed);
      memory.u8[at + 15] = 0x01; // one byte off the pattern
      expect(isFreed(memory, at)).toBe(false);
    }
  });

  it("is true for a pointer that is itself a fill pattern, wherever it points", () => {
    const memory = new LinearMemory();
    expect(isFreed(memory, 0xdddddddd)).toBe(true);
    expect(isFreed(memory, 0xcdcdcdcd)).toBe(true);
  });

  it("is false when the type slot lies past the end of the memory: nothing is read there", () => {
    const memory = new LinearMemory();
    const end = memory.byteLength;
    memory.u8.fill(0, end - 64, end);
    expect(isFreed(memory, end - 16)).toBe(true); // the slot is the last 8 bytes
    expect(isFreed(memory, end - 15)).toBe(false);
    expect(isFreed(memory, end)).toBe(false);
    expect(isFreed(memory, 2 ** 32 - 1)).toBe(false);
  });

  it("follows a block through its life under the OBJ hooks", () => {
    const { hooks } = hooked({ api: "o" });
    const op = hooks.malloc(32);
    expect(hooks.isFreed(op)).toBe(true); // uninitialised
    hooks.memory.dataView.setBigUint64(op + 8, 0x10000n, true);
    expect(hooks.isFreed(op)).toBe(false); // initialised
    const moved = hooks.realloc(op, 64);
    expect(hooks.isFreed(moved)).toBe(false); // the data moved with it
    hooks.free(moved);
    expect(hooks.isFreed(moved)).toBe(true); // freed
  });
});
