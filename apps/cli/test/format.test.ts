/* How the command prints numbers and tables (src/format.ts). */
import { describe, expect, it } from "vitest";
import { bytes, count, counted, exactBytes, fields, milliseconds, nanoseconds, textTable } from "../src/format.ts";

describe("count and counted", () => {
  it.each([
    [0, "0"],
    [7, "7"],
    [999, "999"],
    [1000, "1,000"],
    [995_232, "995,232"],
    [1_234_567, "1,234,567"],
    [2 ** 32, "4,294,967,296"],
  ])("count(%d) = %s", (n, text) => {
    expect(count(n)).toBe(text);
  });

  it("counted: the noun singular for 1 only, with its plural given or made with s", () => {
    expect(counted(1, "arena")).toBe("1 arena");
    expect(counted(6, "arena")).toBe("6 arenas");
    expect(counted(0, "block")).toBe("0 blocks");
    expect(counted(74_793, "block")).toBe("74,793 blocks");
    expect(counted(1, "class", "classes")).toBe("1 class");
    expect(counted(32, "class", "classes")).toBe("32 classes");
  });
});

describe("bytes and exactBytes", () => {
  it.each([
    [0, "0 B"],
    [1, "1 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [512 * 1024, "512.0 KiB"],
    [2 ** 20, "1.0 MiB"],
    [11_323_148, "10.8 MiB"],
    [2 ** 30 - 2 ** 20, "1023.0 MiB"],
    // the unit is chosen after rounding
    [2 ** 20 - 1, "1.0 MiB"],
    [1023.9 * 1024, "1023.9 KiB"],
    [2 ** 30 - 1, "1.0 GiB"],
    [2 ** 30, "1.0 GiB"],
    [1.5 * 2 ** 30, "1.5 GiB"],
    [2 ** 32, "4.0 GiB"],
  ])("bytes(%d) = %s", (n, text) => {
    expect(bytes(n)).toBe(text);
  });

  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1,024 B (1.0 KiB)"],
    [68_075, "68,075 B (66.5 KiB)"],
    [11_323_148, "11,323,148 B (10.8 MiB)"],
    [2 ** 30, "1,073,741,824 B (1.0 GiB)"],
  ])("exactBytes(%d) = %s", (n, text) => {
    expect(exactBytes(n)).toBe(text);
  });
});

describe("nanoseconds and milliseconds", () => {
  it.each([
    [0, "0.0"],
    [5, "5.0"],
    [83.94, "83.9"],
    [99.9, "99.9"],
    [99.96, "100"],
    [100, "100"],
    [123.4, "123"],
    [1507.6, "1508"],
  ])("nanoseconds(%d) = %s", (ns, text) => {
    expect(nanoseconds(ns)).toBe(text);
  });

  it.each([
    [0.04, "0.0"],
    [7.25, "7.3"],
    [9.9, "9.9"],
    [9.96, "10"],
    [10, "10"],
    [84.4, "84"],
    [1234.4, "1234"],
  ])("milliseconds(%d) = %s", (ms, text) => {
    expect(milliseconds(ms)).toBe(text);
  });
});

describe("textTable", () => {
  it("pads the first column left-aligned and the others right-aligned, dashes under the header", () => {
    const table = textTable([
      ["workload", "ns", "ratio"],
      ["replay", "83.9", "1.00×"],
      ["churn 8..512 B", "1507", "17.96×"],
    ]);
    expect(table.split("\n")).toEqual([
      "workload          ns   ratio",
      "--------------  ----  ------",
      "replay          83.9   1.00×",
      "churn 8..512 B  1507  17.96×",
    ]);
  });

  it("aligns the first `left` columns left, and trims trailing spaces", () => {
    const table = textTable(
      [
        ["name", "unit", "n"],
        ["a", "ns/event", "1"],
        ["longer", "", "12345"],
        ["x", "s", ""],
      ],
      2,
    );
    expect(table.split("\n")).toEqual(["name    unit          n", "------  --------  -----", "a       ns/event      1", "longer            12345", "x       s"]);
  });

  it("is empty for no rows, and a header and its dashes for a header alone", () => {
    expect(textTable([])).toBe("");
    expect(textTable([["a", "bb"]])).toBe("a  bb\n-  --");
  });
});

describe("fields", () => {
  it("lines the values up after the longest label, indented by two spaces", () => {
    expect(
      fields([
        ["time", "83.9 ns/event"],
        ["peak live bytes", "11,323,148 B"],
        ["NULL returns", "0"],
      ]),
    ).toBe("  time             83.9 ns/event\n  peak live bytes  11,323,148 B\n  NULL returns     0");
  });

  it("takes another indent", () => {
    expect(fields([["a", "1"], ["bcd", "2"]], "> ")).toBe("> a    1\n> bcd  2");
  });
});
