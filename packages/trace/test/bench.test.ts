import { parseTrace } from "@tsmalloc/trace";
import { type BenchCase, type BenchCell, benchTableRows, churn, formatBenchTable, median, runBenchmarks } from "@tsmalloc/trace/bench";
import { describe, expect, it } from "vitest";

const cases: BenchCase[] = [{ name: "tiny churn", workload: { kind: "churn", churn: churn("c", 8, 64, 10, 1000) } }];
const fixtures = new URL("./fixtures/contenders.ts", import.meta.url);

// (each test starts a dozen workers through tsx: under CI's load, with every package's tests at
// once on two cores, that has taken over a minute)
describe("runBenchmarks", () => {
  it("times every contender in its own worker and reports medians, budget overruns, and failures", async () => {
    const cells = await runBenchmarks(cases, {
      module: fixtures,
      contenders: ["fast", "slow", "never", "broken"],
      runs: 3,
      // each run's budget also covers starting its worker (tsx compiling the fixture), which took
      // over 2 s while CI ran every package's tests and the visualizer's Chromium at once
      budgetMs: 10_000,
    });
    const byName = new Map(cells.map((c) => [c.contender, c]));
    expect(byName.get("fast")!.status).toBe("ok");
    expect(byName.get("fast")!.runs.length).toBe(3);
    expect(byName.get("fast")!.median).toBeGreaterThan(0);
    expect(byName.get("slow")!.status).toBe("over budget");
    expect(byName.get("slow")!.median).toBeNull();
    expect(byName.get("never")!.status).toBe("unavailable");
    expect(byName.get("broken")!.status).toBe("failed");
    expect(byName.get("broken")!.error).toContain("cannot start");

    const table = formatBenchTable(cells, cases, ["fast", "slow", "never"]).split("\n");
    expect(table[0]).toBe("| workload | unit | fast | slow | never |");
    expect(table[2]).toMatch(/^\| tiny churn \| ns\/pair \| [\d.]+ \(1\.00×\) \| over budget \| unavailable \|$/);
  }, 120_000);

  it("runs `warmup` of the workload on a throw-away target first (a tenth by default)", async () => {
    // the warmupProbe contender fails as many of the timed target's first mallocs as the
    // warm-up target saw: the cell's `failures` are the warm-up's malloc count
    const mallocs = parseTrace(new TextEncoder().encode(Array.from({ length: 100 }, (_, i) => `a ${i} 8\n`).join("")), "100 mallocs");
    const replay = { kind: "replay", trace: mallocs } as const;
    const warmupCases: BenchCase[] = [
      { name: "default", workload: replay },
      { name: "half", workload: replay, warmup: 0.5 },
      { name: "whole", workload: replay, warmup: 1 },
      { name: "none", workload: replay, warmup: 0 },
      // the warm pass runs on the timed target and so takes the failures before the timing
      { name: "half, warm", workload: replay, warmup: 0.5, warm: true },
      // 10 live blocks, then 1000 pairs: a quarter is 10 + 250 mallocs
      { name: "churn", workload: { kind: "churn", churn: churn("c", 8, 64, 10, 1000) }, warmup: 0.25 },
    ];
    const cells = await runBenchmarks(warmupCases, { module: fixtures, contenders: ["warmupProbe", "twoTargets", "liveCap"], runs: 1 });
    const cell = (name: string, contender: string): BenchCell => cells.find((c) => c.case === name && c.contender === contender)!;
    const expected: Record<string, number> = { default: 10, half: 50, whole: 100, none: 0, "half, warm": 0, churn: 260 };
    for (const [name, failures] of Object.entries(expected)) {
      expect(cell(name, "warmupProbe"), name).toMatchObject({ status: "ok", failures });
      expect(cell(name, "warmupProbe").runs.length).toBe(1);
      // one throw-away target and one timed target, never more
      expect(cell(name, "twoTargets"), name).toMatchObject({ status: "ok", failures: 0 });
      // the warm pass frees what it leaves live: the timed pass finds an empty heap (liveCap
      // holds 100 blocks at most, and the trace leaves all 100 live)
      expect(cell(name, "liveCap"), name).toMatchObject({ status: "ok", failures: 0 });
    }
  }, 120_000);
});

describe("runBenchmarks' external contenders", () => {
  it("calls an external contender once per run, in its turn, with the case and the budget; its replies fill its cell", async () => {
    const calls: string[] = [];
    const twoCases: BenchCase[] = [cases[0]!, { name: "second", workload: cases[0]!.workload }];
    const cells = await runBenchmarks(twoCases, {
      module: fixtures,
      contenders: ["native", "late", "gone", "bad"],
      runs: 3,
      budgetMs: 1234,
      external: {
        native: (benchCase, budgetMs) => {
          calls.push(`${benchCase.name} ${budgetMs}`);
          return Promise.resolve({ ok: true, nanoseconds: 600 * calls.length, units: 3, failures: 2 });
        },
        late: () => Promise.resolve("over budget"),
        gone: () => Promise.resolve({ ok: false, unavailable: true }),
        bad: () => Promise.resolve({ ok: false, error: "replayer: a bad line" }),
      },
    });
    // no worker was started: the fixtures module has none of these names
    expect(calls).toEqual(["tiny churn 1234", "tiny churn 1234", "tiny churn 1234", "second 1234", "second 1234", "second 1234"]);
    const native = cells.find((c) => c.case === "tiny churn" && c.contender === "native")!;
    expect(native).toMatchObject({ status: "ok", runs: [200, 400, 600], median: 400, failures: 2 });
    expect(cells.find((c) => c.case === "second" && c.contender === "native")!.median).toBe(1000);
    expect(cells.find((c) => c.contender === "late")).toMatchObject({ status: "over budget", median: null });
    expect(cells.find((c) => c.contender === "gone")).toMatchObject({ status: "unavailable", median: null });
    expect(cells.find((c) => c.contender === "bad")).toMatchObject({ status: "failed", error: "replayer: a bad line" });
  });
});

describe("benchTableRows", () => {
  const trace = parseTrace(new TextEncoder().encode("a 0 8\nf 0\n"), "t");
  const tableCases: BenchCase[] = [
    { name: "churn case", workload: { kind: "churn", churn: churn("c", 8, 16, 1, 1) } },
    { name: "replay case", workload: { kind: "replay", trace } },
    { name: "no cells", workload: { kind: "replay", trace } },
  ];
  const contenders = ["base", "other", "nulls", "slow", "gone", "bad", "missing"];
  const cell = (c: string, contender: string, median: number | null, status: BenchCell["status"] = "ok", failures = 0): BenchCell => ({
    case: c,
    contender,
    runs: median === null ? [] : [median],
    median,
    status,
    failures,
  });
  const cells: BenchCell[] = [
    cell("churn case", "other", 125),
    cell("churn case", "base", 50),
    cell("churn case", "nulls", 25, "ok", 3),
    cell("churn case", "slow", null, "over budget"),
    cell("churn case", "gone", null, "unavailable"),
    cell("churn case", "bad", null, "failed"),
    // the baseline failed: no ratios in this row
    cell("replay case", "base", null, "failed"),
    cell("replay case", "other", 7.5),
    cell("replay case", "nulls", 1234.4, "ok", 1),
    // a case that is not asked for is left out
    cell("unlisted case", "base", 1),
  ];

  it("has a header row, then a row per case with a cell per contender", () => {
    expect(benchTableRows(cells, tableCases, contenders)).toEqual([
      ["workload", "unit", "base", "other", "nulls", "slow", "gone", "bad", "missing"],
      ["churn case", "ns/pair", "50.0 (1.00×)", "125 (2.50×)", "25.0 (0.50×) [3 NULL]", "over budget", "unavailable", "failed", "-"],
      ["replay case", "ns/event", "failed", "7.5", "1234 [1 NULL]", "-", "-", "-", "-"],
      ["no cells", "ns/event", "-", "-", "-", "-", "-", "-", "-"],
    ]);
  });

  it("follows the order of the cases and the contenders, the first contender being the baseline", () => {
    expect(benchTableRows(cells, [tableCases[0]!], ["other", "base"])).toEqual([
      ["workload", "unit", "other", "base"],
      ["churn case", "ns/pair", "125 (1.00×)", "50.0 (0.40×)"],
    ]);
    expect(benchTableRows(cells, [], ["base"])).toEqual([["workload", "unit", "base"]]);
  });

  it("is what formatBenchTable renders as Markdown", () => {
    const rows = benchTableRows(cells, tableCases, contenders);
    const markdown = formatBenchTable(cells, tableCases, contenders).split("\n");
    expect(markdown.length).toBe(rows.length + 1);
    expect(markdown[0]).toBe(`| ${rows[0]!.join(" | ")} |`);
    expect(markdown[1]).toBe("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (let i = 1; i < rows.length; i++) expect(markdown[i + 1]).toBe(`| ${rows[i]!.join(" | ")} |`);
    expect(markdown[2]).toBe("| churn case | ns/pair | 50.0 (1.00×) | 125 (2.50×) | 25.0 (0.50×) [3 NULL] | over budget | unavailable | failed | - |");
  });
});

describe("median", () => {
  it("of an odd count is the middle value, of an even count the mean of the two middle ones", () => {
    expect(median([5])).toBe(5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([3010.5, 82.9, 85.3])).toBe(85.3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([10, 1])).toBe(5.5);
  });

  it("is null for no values", () => {
    expect(median([])).toBeNull();
  });

  it("sorts numbers as numbers, and leaves its argument as it was", () => {
    const values = [100, 9, 20];
    expect(median(values)).toBe(20);
    expect(values).toEqual([100, 9, 20]);
  });
});
