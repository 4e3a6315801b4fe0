/* The page's number formats (src/format.ts): exact strings. */
import { describe, expect, it } from "vitest";
import { bytes, count, counted, hex } from "../src/format.ts";

describe("count", () => {
  it.each([
    [0, "0"],
    [7, "7"],
    [999, "999"],
    [1000, "1,000"],
    [995_232, "995,232"],
    [1_402_000, "1,402,000"],
    [2 ** 32, "4,294,967,296"],
    [12.7, "12"],
    [-1234.9, "-1,234"],
  ])("count(%d) = %s", (n, text) => {
    expect(count(n)).toBe(text);
  });
});

describe("counted", () => {
  it.each([
    [0, "segment", "0 segments"],
    [1, "segment", "1 segment"],
    [2, "free block", "2 free blocks"],
    [12_002, "block", "12,002 blocks"],
  ])("counted(%d, %j) = %j", (n, noun, text) => {
    expect(counted(n, noun)).toBe(text);
  });
});

describe("bytes", () => {
  it.each([
    [0, "0 B"],
    [1, "1 B"],
    [512, "512 B"],
    [100.4, "100 B"],
    [1023, "1023 B"],
    [1024, "1.00 KiB"],
    [1536, "1.50 KiB"],
    [12.9 * 1024, "12.9 KiB"],
    [512 * 1024, "512 KiB"],
    [2 ** 20, "1.00 MiB"],
    [13_526_630, "12.9 MiB"],
    [2 ** 30, "1.00 GiB"],
    [1.5 * 2 ** 30, "1.50 GiB"],
    [2 ** 32, "4.00 GiB"],
    [-2048, "-2.00 KiB"],
  ])("bytes(%d) = %s", (n, text) => {
    expect(bytes(n)).toBe(text);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("bytes(%d) is a dash", (n) => {
    expect(bytes(n)).toBe("–");
  });

  /** The number a bytes() text stands for. */
  function valueOf(text: string): number {
    const match = /^(-?\d+(?:\.\d+)?) (B|KiB|MiB|GiB)$/.exec(text);
    if (match === null) return Number.NaN;
    return Number(match[1]) * 1024 ** ["B", "KiB", "MiB", "GiB"].indexOf(match[2]!);
  }

  it("every size up to 4 GiB: a plain number and a unit, within 0.5% of the value", () => {
    const bad: string[] = [];
    for (let value = 1; value <= 2 ** 32; value = Math.ceil(value * 1.01) + 1) {
      for (const v of [value, value * 1024 - 1]) {
        if (v > 2 ** 32) continue;
        const text = bytes(v);
        const back = valueOf(text);
        if (!(Math.abs(back - v) <= v * 0.005 + 0.5)) bad.push(`${v}: ${text}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it.each([1000 * 1024, 1_040_000, 2 ** 20 - 1, 1000 * 2 ** 20, 2 ** 30 - 1])("bytes(%d) has no exponent", (n) => {
    const text = bytes(n);
    expect(text).not.toMatch(/e/);
    expect(Math.abs(valueOf(text) - n) / n).toBeLessThan(0.005);
  });
});

describe("hex", () => {
  it.each([
    [0, "0x0"],
    [255, "0xff"],
    [0x1103d0, "0x1103d0"],
    [2 ** 32 - 1, "0xffffffff"],
  ])("hex(%d) = %s", (n, text) => {
    expect(hex(n)).toBe(text);
  });
});
