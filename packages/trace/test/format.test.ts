import { formatBytes, formatCount, formatCounted, formatExactBytes, formatMilliseconds, formatNanoseconds, formatRatio } from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";

describe("the figures' formatting", () => {
  it("counts with thousands separators, fractions rounded", () => {
    expect([0, 7, 999, 1000, 1234567, 995232, 2.5, 1e15].map(formatCount)).toEqual(["0", "7", "999", "1,000", "1,234,567", "995,232", "3", "1,000,000,000,000,000"]);
  });

  it("a count and its noun, plural unless the count is 1", () => {
    expect(formatCounted(1, "event")).toBe("1 event");
    expect(formatCounted(0, "event")).toBe("0 events");
    expect(formatCounted(2, "event")).toBe("2 events");
    expect(formatCounted(1_451_043, "event")).toBe("1,451,043 events");
    expect(formatCounted(2, "NULL return")).toBe("2 NULL returns");
    expect(formatCounted(3, "index", "indexes")).toBe("3 indexes");
  });

  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1023, "1023 B"],
    [1024, "1.00 KiB"],
    [1536, "1.50 KiB"],
    [10_000, "9.77 KiB"],
    [102_400, "100 KiB"],
    [1_022_976, "999 KiB"],
    // 1007.5 KiB: the unit that keeps the number below 1000
    [1_031_680, "0.984 MiB"],
    [1_048_575, "1.00 MiB"],
    [4_277_221, "4.08 MiB"],
    [11_323_148, "10.8 MiB"],
    [13_565_952, "12.9 MiB"],
    [2 ** 30, "1.00 GiB"],
    [3_000_000_000, "2.79 GiB"],
    [2 ** 50, "1024 TiB"],
    [NaN, "–"],
    [Infinity, "–"],
  ])("bytes: %d is %s", (n, shown) => {
    expect(formatBytes(n)).toBe(shown);
  });

  it("exact bytes beside the size at a glance", () => {
    expect(formatExactBytes(11_323_148)).toBe("11,323,148 B (10.8 MiB)");
    expect(formatExactBytes(1023)).toBe("1023 B");
    expect(formatExactBytes(1024)).toBe("1,024 B (1.00 KiB)");
  });

  it("nanoseconds and milliseconds: one decimal below 100 (10), none above", () => {
    expect([0.04, 5.26, 68.74, 99.94, 99.95, 169.2, 1234.5].map(formatNanoseconds)).toEqual(["0.0", "5.3", "68.7", "99.9", "100", "169", "1235"]);
    expect([0.26, 9.94, 9.95, 131.4].map(formatMilliseconds)).toEqual(["0.3", "9.9", "10", "131"]);
  });

  it("ratios with two decimals, and - for none", () => {
    expect(formatRatio(1.2)).toBe("1.20×");
    expect(formatRatio(0.456)).toBe("0.46×");
    expect(formatRatio(null)).toBe("-");
    expect(formatRatio(Infinity)).toBe("-");
    expect(formatRatio(NaN)).toBe("-");
  });
});
