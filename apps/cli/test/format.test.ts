/* How the command prints tables (src/format.ts); the figures in them are @tsmalloc/trace's format* (tested there). */
import { describe, expect, it } from "vitest";
import { fields, roundTo, textTable, wrapText } from "../src/format.ts";

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

describe("wrapText", () => {
  it("breaks at the last space that keeps a line within the width", () => {
    expect(wrapText("the table's counters stop at the point it was taken", 20)).toBe("the table's counters\nstop at the point it\nwas taken");
    expect(wrapText("short", 20)).toBe("short");
    expect(wrapText("", 20)).toBe("");
  });

  it("keeps a word longer than the width whole, on a line of its own", () => {
    expect(wrapText("a supercalifragilistic word", 10)).toBe("a\nsupercalifragilistic\nword");
  });
});

describe("roundTo", () => {
  it("rounds a measured figure to the decimals asked for; null stays null", () => {
    expect(roundTo(14566.99999994271, 1)).toBe(14567);
    expect(roundTo(68.7438, 1)).toBe(68.7);
    expect(roundTo(1.19849, 3)).toBe(1.198);
    expect(roundTo(null, 1)).toBeNull();
  });
});
