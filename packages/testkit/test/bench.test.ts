import { churn, formatBenchTable, runBenchmarks, type BenchCase } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const cases: BenchCase[] = [{ name: "tiny churn", workload: { kind: "churn", churn: churn("c", 8, 64, 10, 1000) } }];

describe("runBenchmarks", () => {
  it("times every contender in its own worker and reports medians, budget overruns, and failures", async () => {
    const cells = await runBenchmarks(cases, {
      module: new URL("./fixtures/contenders.ts", import.meta.url),
      contenders: ["fast", "slow", "never", "broken"],
      runs: 3,
      budgetMs: 2_000,
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
  }, 60_000);
});
