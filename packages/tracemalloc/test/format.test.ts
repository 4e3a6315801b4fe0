/*
 * CPython's text forms, character for character: _format_size (Python's "%.1f" / "%.0f", which
 * round the exact binary value half to even), Frame, Traceback, Trace, Statistic, StatisticDiff.
 * The expected sizes were printed by CPython 3.11's tracemalloc._format_size.
 */
import { formatSize, Frame, Statistic, StatisticDiff, Trace, Traceback } from "@tsmalloc/tracemalloc";
import { describe, expect, it } from "vitest";
import { traceback1 } from "./helpers.ts";

/** value, _format_size(value, False), _format_size(value, True), _format_size(-value, True) */
const SIZES: readonly (readonly [number, string, string, string])[] = [
  [0, "0 B", "+0 B", "+0 B"],
  [1, "1 B", "+1 B", "-1 B"],
  [99, "99 B", "+99 B", "-99 B"],
  [100, "100 B", "+100 B", "-100 B"],
  [1023, "1023 B", "+1023 B", "-1023 B"],
  [1024, "1024 B", "+1024 B", "-1024 B"],
  [10239, "10239 B", "+10239 B", "-10239 B"],
  [10240, "10.0 KiB", "+10.0 KiB", "-10.0 KiB"],
  [12544, "12.2 KiB", "+12.2 KiB", "-12.2 KiB"], // 12.25: half to even
  [12595, "12.3 KiB", "+12.3 KiB", "-12.3 KiB"],
  [12595.2, "12.3 KiB", "+12.3 KiB", "-12.3 KiB"],
  [100000, "97.7 KiB", "+97.7 KiB", "-97.7 KiB"],
  [102399, "100.0 KiB", "+100.0 KiB", "-100.0 KiB"],
  [102400, "100 KiB", "+100 KiB", "-100 KiB"],
  [1048576, "1024 KiB", "+1024 KiB", "-1024 KiB"],
  [1572864, "1536 KiB", "+1536 KiB", "-1536 KiB"],
  [10485760, "10.0 MiB", "+10.0 MiB", "-10.0 MiB"],
  [104857600, "100 MiB", "+100 MiB", "-100 MiB"],
  [1073741824, "1024 MiB", "+1024 MiB", "-1024 MiB"],
  [2.5, "2 B", "+2 B", "-2 B"],
  [3.5, "4 B", "+4 B", "-4 B"],
  [-2.5, "-2 B", "-2 B", "+2 B"],
  [-3.5, "-4 B", "-4 B", "+4 B"],
  [0.5, "0 B", "+0 B", "-0 B"],
  [-0.4, "-0 B", "-0 B", "+0 B"],
  [1280, "1280 B", "+1280 B", "-1280 B"],
  [10000, "10000 B", "+10000 B", "-10000 B"],
  [2501, "2501 B", "+2501 B", "-2501 B"],
  [5772436045824, "5376 GiB", "+5376 GiB", "-5376 GiB"],
  [21990232555520000, "20000 TiB", "+20000 TiB", "-20000 TiB"],
  [3377699720527872, "3072 TiB", "+3072 TiB", "-3072 TiB"],
  [5.764607523034235e16, "52429 TiB", "+52429 TiB", "-52429 TiB"],
];

describe("formatSize is CPython's _format_size", () => {
  it.each(SIZES)("%d", (value, plain, signed, negated) => {
    expect(formatSize(value)).toBe(plain);
    expect(formatSize(value, false)).toBe(plain);
    expect(formatSize(value, true)).toBe(signed);
    expect(formatSize(-value, true)).toBe(negated);
  });

  it("writes a non-finite number as JavaScript does (no size is one)", () => {
    expect(formatSize(Number.NaN)).toBe("NaN");
    expect(formatSize(Number.POSITIVE_INFINITY, true)).toBe("Infinity");
  });
});

describe("text forms", () => {
  it("Frame: file:line", () => {
    expect(String(new Frame("/app/x.js", 12))).toBe("/app/x.js:12");
  });

  it("Traceback: its oldest frame, as CPython's str(traceback)", () => {
    const traceback = new Traceback([new Frame("main.js", 3), new Frame("parse.js", 12)]);
    expect(String(traceback)).toBe("main.js:3");
    expect(traceback.length).toBe(2);
    expect(traceback.at(-1)).toEqual(new Frame("parse.js", 12));
  });

  it("Trace: traceback and size", () => {
    expect(String(new Trace(0, 100_000, traceback1("app.js", 12)))).toBe("app.js:12: 97.7 KiB");
  });

  it("Statistic: the issue's example, and no average for a count of 0", () => {
    expect(String(new Statistic(traceback1("app.js", 12), 100_000, 1000))).toBe("app.js:12: size=97.7 KiB, count=1000, average=100 B");
    expect(String(new Statistic(traceback1("app.js", 12), 0, 0))).toBe("app.js:12: size=0 B, count=0");
  });

  it("StatisticDiff: signed differences, the average of the new figures", () => {
    expect(String(new StatisticDiff(traceback1("app.js", 12), 100_000, 100_000, 10, 10))).toBe(
      "app.js:12: size=97.7 KiB (+97.7 KiB), count=10 (+10), average=10000 B",
    );
    expect(String(new StatisticDiff(traceback1("a.js", 1), 0, -66, 0, -1))).toBe("a.js:1: size=0 B (-66 B), count=0 (-1)");
    expect(String(new StatisticDiff(traceback1("a.js", 1), 30, 0, 3, 0))).toBe("a.js:1: size=30 B (+0 B), count=3 (+0), average=10 B");
  });
});

describe("ordering", () => {
  it("frames compare by file name in code points, then line, as Python compares tuples", () => {
    const sorted = [new Frame("b", 1), new Frame("a", 2), new Frame("a", 1), new Frame("\u{1F600}", 0), new Frame("\uFF5E", 0)].sort(Frame.compare);
    expect(sorted.map(String)).toEqual(["a:1", "a:2", "b:1", "\uFF5E:0", "\u{1F600}:0"]);
  });

  it("tracebacks compare frame by frame, a prefix first", () => {
    const a = new Traceback([new Frame("a", 1)]);
    const ab = new Traceback([new Frame("a", 1), new Frame("b", 1)]);
    const b = new Traceback([new Frame("b", 0)]);
    expect([b, ab, a].sort(Traceback.compare)).toEqual([a, ab, b]);
    expect(Traceback.compare(a, new Traceback([new Frame("a", 1)]))).toBe(0);
  });

  it("statistics sort by size, then count, then traceback, largest first", () => {
    const stats = [
      new Statistic(traceback1("a", 1), 10, 1),
      new Statistic(traceback1("b", 1), 10, 2),
      new Statistic(traceback1("c", 1), 20, 1),
      new Statistic(traceback1("d", 1), 10, 2),
    ].sort(Statistic.compare);
    expect(stats.map((s) => String(s.traceback))).toEqual(["c:1", "d:1", "b:1", "a:1"]);
  });

  it("differences sort by |size diff|, size, |count diff|, count, traceback, largest first", () => {
    const diffs = [
      new StatisticDiff(traceback1("a", 1), 5, 5, 1, 1),
      new StatisticDiff(traceback1("b", 1), 0, -9, 0, -3),
      new StatisticDiff(traceback1("c", 1), 9, 5, 1, 1),
      new StatisticDiff(traceback1("d", 1), 9, 5, 2, -2),
      new StatisticDiff(traceback1("e", 1), 9, 5, 2, 2),
    ].sort(StatisticDiff.compare);
    expect(diffs.map((s) => String(s.traceback))).toEqual(["b:1", "e:1", "d:1", "c:1", "a:1"]);
  });
});
