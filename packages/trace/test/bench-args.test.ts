import { parseBenchArgs } from "@tsmalloc/trace/bench";
import { describe, expect, it } from "vitest";

describe("parseBenchArgs", () => {
  it("has the documented defaults", () => {
    expect(parseBenchArgs([])).toEqual({ runs: 5, quick: false, budgetSeconds: 30 });
  });

  it("reads --runs and --budget, and ignores the -- that pnpm passes through", () => {
    expect(parseBenchArgs(["--", "--runs", "9", "--budget", "12.5"])).toEqual({ runs: 9, quick: false, budgetSeconds: 12.5 });
  });

  it("makes --quick one run", () => {
    expect(parseBenchArgs(["--quick", "--runs", "7"])).toEqual({ runs: 1, quick: true, budgetSeconds: 30 });
  });

  it("refuses unknown options and bad numbers", () => {
    expect(() => parseBenchArgs(["--fast"])).toThrow(TypeError);
    expect(() => parseBenchArgs(["--runs", "0"])).toThrow(/--runs/);
    expect(() => parseBenchArgs(["--runs", "2.5"])).toThrow(/--runs/);
    expect(() => parseBenchArgs(["--budget", "soon"])).toThrow(/--budget/);
    expect(() => parseBenchArgs(["trace.gz"])).toThrow(TypeError);
  });
});
