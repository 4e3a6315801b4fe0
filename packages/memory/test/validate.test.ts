import {
  checkOversize,
  describeValue,
  ErrorCode,
  formatAddress,
  isAddress,
  isPowerOfTwo,
  isValidSize,
  requireAddress,
  requireSize,
} from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { expectError } from "./support.ts";

/** The awkward values every check must classify. */
const awkward: Array<[string, unknown]> = [
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["-1", -1],
  ["1.5", 1.5],
  ['"1"', "1"],
  ["1n", 1n],
  ["undefined", undefined],
  ["null", null],
  ["2 ** 40", 2 ** 40],
  ["2 ** 32", 2 ** 32],
  ["2 ** 32 - 1", 2 ** 32 - 1],
  ["0", 0],
  ["-0", -0],
  ["1", 1],
  ["true", true],
  ["{}", {}],
  ["[1]", [1]],
  ["MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
  ["2 ** 53", 2 ** 53],
];

function classify(check: (value: unknown) => boolean): Record<string, boolean> {
  return Object.fromEntries(awkward.map(([name, value]) => [name, check(value)]));
}

describe("isValidSize", () => {
  it("accepts exactly the non-negative integer numbers, however large", () => {
    expect(classify(isValidSize)).toEqual({
      NaN: false,
      Infinity: false,
      "-Infinity": false,
      "-1": false,
      "1.5": false,
      '"1"': false,
      "1n": false,
      undefined: false,
      null: false,
      "2 ** 40": true,
      "2 ** 32": true,
      "2 ** 32 - 1": true,
      "0": true,
      "-0": true,
      "1": true,
      true: false,
      "{}": false,
      "[1]": false,
      MAX_SAFE_INTEGER: true,
      "2 ** 53": true,
    });
  });
});

describe("checkOversize and requireSize", () => {
  it("return normally for valid sizes, also too large ones", () => {
    for (const size of [0, 1, 2 ** 32, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
      expect(checkOversize(size, "malloc")).toBeUndefined();
      expect(requireSize(size, "malloc")).toBe(size);
    }
  });

  it("throw ERR_TSMALLOC_INVALID_SIZE naming the function, parameter and value", () => {
    for (const [name, value] of awkward) {
      if (isValidSize(value)) continue;
      const checked = expectError(() => checkOversize(value, "calloc", "nelem"), ErrorCode.InvalidSize);
      expect(checked.message).toBe(`calloc: nelem must be a non-negative integer number, got ${describeValue(value)}`);
      expect(checked.address).toBeUndefined();
      const required = expectError(() => requireSize(value, "malloc"), ErrorCode.InvalidSize);
      expect(required.message, name).toBe(`malloc: size must be a non-negative integer number, got ${describeValue(value)}`);
    }
  });

  it("reject 1.5, NaN and -1 by name in the message", () => {
    expect(expectError(() => requireSize(1.5, "f"), ErrorCode.InvalidSize).message).toMatch(/got 1\.5$/);
    expect(expectError(() => requireSize(Number.NaN, "f"), ErrorCode.InvalidSize).message).toMatch(/got NaN$/);
    expect(expectError(() => requireSize(-1, "f"), ErrorCode.InvalidSize).message).toMatch(/got -1$/);
    expect(expectError(() => requireSize(1n, "f"), ErrorCode.InvalidSize).message).toMatch(/got 1n \(a bigint\)$/);
  });
});

describe("isAddress and requireAddress", () => {
  it("accept exactly the integers in [0, 2^32)", () => {
    expect(classify(isAddress)).toEqual({
      NaN: false,
      Infinity: false,
      "-Infinity": false,
      "-1": false,
      "1.5": false,
      '"1"': false,
      "1n": false,
      undefined: false,
      null: false,
      "2 ** 40": false,
      "2 ** 32": false,
      "2 ** 32 - 1": true,
      "0": true,
      "-0": true,
      "1": true,
      true: false,
      "{}": false,
      "[1]": false,
      MAX_SAFE_INTEGER: false,
      "2 ** 53": false,
    });
  });

  it("requireAddress returns the address or throws ERR_TSMALLOC_INVALID_POINTER", () => {
    expect(requireAddress(0, "free")).toBe(0);
    expect(requireAddress(2 ** 32 - 1, "free")).toBe(2 ** 32 - 1);
    for (const [, value] of awkward) {
      if (isAddress(value)) continue;
      const error = expectError(() => requireAddress(value, "free"), ErrorCode.InvalidPointer);
      expect(error.message).toBe(`free: pointer must be an integer address in [0, 2^32), got ${describeValue(value)}`);
    }
    expect(expectError(() => requireAddress(-1, "realloc", "ptr"), ErrorCode.InvalidPointer).message).toMatch(/^realloc: ptr must/);
  });
});

describe("isPowerOfTwo", () => {
  it("accepts 1, 2, 4, ... 2^31 and nothing else", () => {
    for (let shift = 0; shift < 32; shift++) expect(isPowerOfTwo(2 ** shift)).toBe(true);
    for (const value of [0, 3, 6, 12, 65535, 2 ** 32, 2 ** 40, -2, -(2 ** 31), 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "2", 2n, null, undefined]) {
      expect(isPowerOfTwo(value)).toBe(false);
    }
  });
});

describe("describeValue", () => {
  it("shows each kind of value briefly", () => {
    expect(describeValue(-1)).toBe("-1");
    expect(describeValue(1.5)).toBe("1.5");
    expect(describeValue(Number.NaN)).toBe("NaN");
    expect(describeValue(Number.POSITIVE_INFINITY)).toBe("Infinity");
    expect(describeValue(-0)).toBe("-0");
    expect(describeValue(2 ** 40)).toBe("1099511627776");
    expect(describeValue("12")).toBe('"12"');
    expect(describeValue("")).toBe('""');
    expect(describeValue(12n)).toBe("12n (a bigint)");
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue(null)).toBe("null");
    expect(describeValue({})).toBe("an object ([object Object])");
    expect(describeValue([1])).toBe("an object ([object Array])");
    expect(describeValue(true)).toBe("a boolean");
    expect(describeValue(Symbol("s"))).toBe("a symbol");
    expect(describeValue(() => 1)).toBe("a function");
  });

  it("cuts long strings at 40 characters", () => {
    expect(describeValue("x".repeat(40))).toBe(JSON.stringify("x".repeat(40)));
    expect(describeValue("y".repeat(41))).toBe(JSON.stringify(`${"y".repeat(40)}…`));
  });
});

describe("formatAddress", () => {
  it("prints lower-case hex with 0x", () => {
    expect(formatAddress(0)).toBe("0x0");
    expect(formatAddress(255)).toBe("0xff");
    expect(formatAddress(65536)).toBe("0x10000");
    expect(formatAddress(0xdeadbeef)).toBe("0xdeadbeef");
    expect(formatAddress(2 ** 32 - 1)).toBe("0xffffffff");
  });
});
