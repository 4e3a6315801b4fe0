import { churn, columnName, formatThreadTable, runThreadBenchmarks, type ThreadCase, threadSummary, threadTableRows } from "@tsmalloc/trace/bench";
import { describe, expect, it } from "vitest";

const modules = {
  registry: new URL("./fixtures/fake-registry.ts", import.meta.url).href,
  memory: new URL("./fixtures/fake-memory.ts", import.meta.url).href,
};

describe("runThreadBenchmarks", () => {
  it("runs every shape in every column with fresh workers, and reports medians, summaries and failures", async () => {
    const small = churn("c", 8, 64, 10, 2000);
    const cases: ThreadCase[] = [
      {
        config: "default",
        columns: [{ mode: "private", workers: 1 }, { mode: "private", workers: 2 }, { mode: "locked", workers: 2 }, { mode: "free-threaded", workers: 1 }, { mode: "free-threaded", workers: 2 }],
        shape: { kind: "churn", name: "tiny churn", churn: small },
      },
      { config: "default", columns: [{ mode: "free-threaded", workers: 2 }], shape: { kind: "pipeline", name: "pipe", blocks: 5000, minSize: 16, maxSize: 64 } },
      { config: "default", columns: [{ mode: "free-threaded", workers: 2 }], shape: { kind: "remote free", name: "remote", blocks: 1000, rounds: 3, minSize: 16, maxSize: 64 } },
      { config: "broken", columns: [{ mode: "locked", workers: 2 }], shape: { kind: "churn", name: "broken churn", churn: small } },
    ];
    const lines: string[] = [];
    // each run's budget also covers starting its workers (tsx compiling them), slow on a busy machine
    const cells = await runThreadBenchmarks(cases, { modules, runs: 1, budgetMs: 20_000, progress: (line) => lines.push(line) });
    const cell = (shape: string, column = 0): (typeof cells)[number] => cells.filter((c) => c.shape === shape)[column]!;
    for (let i = 0; i < 5; i++) expect(cell("tiny churn", i)).toMatchObject({ status: "ok", failures: 0 });
    expect(cell("tiny churn").runs).toHaveLength(1);
    expect(cell("pipe").median).toBeGreaterThan(0);
    expect(cell("pipe").localMedian).toBeGreaterThan(0);
    expect(cell("remote").median).toBeGreaterThan(0);
    expect(cell("remote").localMedian).toBeGreaterThan(0);
    expect(cell("broken churn").status).toBe("failed");
    expect(cell("broken churn").error).toContain("cannot open the runtime");
    expect(lines).toContain("broken churn | broken | locked, 2 workers | run 1/1: failed");

    const [header, first] = threadTableRows(cells, cases);
    expect(header).toEqual(["workload", "configuration", "unit", "private heap", "private heaps, 2 workers", "locked, 2 workers", "free-threaded, 1 worker", "free-threaded, 2 workers"]);
    expect(first!.slice(0, 4)).toEqual(["tiny churn", "default", "ns/pair", expect.stringMatching(/^[\d.]+ \(1\.00×\)$/)]);
    const table = formatThreadTable(cells, cases).split("\n");
    expect(table[1]).toBe("|---|---|---|---:|---:|---:|---:|---:|");
    expect(table.find((line) => line.startsWith("| remote |"))).toMatch(/^\| remote \| default \| ns\/free \| - \| - \| - \| - \| [\d.]+ \([\d.]+×\) \/ [\d.]+ \|$/);
    expect(table.find((line) => line.startsWith("| broken churn |"))).toContain("failed");
    expect(table.find((line) => line.startsWith("| pipe |"))).toMatch(/^\| pipe \| default \| ns\/block \| - \| - \| - \| - \| [\d.]+ \(1\.00×\) \/ [\d.]+ busy \(1\.00×\) \|$/);
    expect(threadSummary(cells)).toEqual([
      expect.stringMatching(
        /^tiny churn, default: free-threaded: 2 workers do [\d.]+× the work of 1 in the same time; private heaps \(nothing shared: the machine's ceiling\): 2 workers do [\d.]+× the work of 1 in the same time; one free-threaded worker costs [\d.]+× a private heap$/,
      ),
    ]);
    expect(columnName({ mode: "locked", workers: 1 })).toBe("locked, 1 worker");
    expect(columnName({ mode: "private", workers: 3 })).toBe("private heaps, 3 workers");
  }, 120_000);

  it("hands the pipeline's consumer every block the producer made, once and in order, batch by batch", async () => {
    // twice round the 4096-entry ring and then some, not a multiple of the 64-block batch: the
    // last, partial batch must be handed over too, or the consumer waits past the budget
    for (const blocks of [8192 + 100, 63, 1]) {
      const cases: ThreadCase[] = [{ config: "ordered", columns: [{ mode: "free-threaded", workers: 2 }], shape: { kind: "pipeline", name: "ordered pipe", blocks, minSize: 16, maxSize: 64 } }];
      // the budget is for a busy machine, where starting two workers under tsx takes long
      const cells = await runThreadBenchmarks(cases, { modules, runs: 1, budgetMs: 60_000 });
      expect(cells[0]).toMatchObject({ status: "ok", failures: 0 });
    }
    // and the check itself catches a block out of order
    const skipped: ThreadCase[] = [{ config: "ordered", columns: [{ mode: "free-threaded", workers: 2 }], shape: { kind: "remote free", name: "not a pipeline", blocks: 10, rounds: 2, minSize: 16, maxSize: 64 } }];
    const [cell] = await runThreadBenchmarks(skipped, { modules, runs: 1, budgetMs: 60_000 });
    expect(cell).toMatchObject({ status: "failed" });
    expect(cell!.error).toContain("ordered: freed");
  }, 300_000);

  it("stops a run that overruns its budget and shows the cell as over budget", async () => {
    const cases: ThreadCase[] = [{ config: "slow", columns: [{ mode: "private", workers: 1 }], shape: { kind: "churn", name: "slow churn", churn: churn("c", 8, 64, 10, 100) } }];
    const cells = await runThreadBenchmarks(cases, { modules, runs: 2, budgetMs: 8_000 });
    expect(cells[0]).toMatchObject({ status: "over budget", median: null, runs: [] });
  }, 60_000);
});
