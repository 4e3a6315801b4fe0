import { churn, columnName, formatThreadTable, type NativeThreadRunner, pairedRatio, PIPELINE_BATCH, pipelineWarmBlocks, runThreadBenchmarks, scalingCases, type ThreadCase, type ThreadCell, threadSummary, threadTableRows } from "@tsmalloc/trace/bench";
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
      expect.stringMatching(/^pipe, default: free-threaded, 2 workers: [\d.]+ ns a block$/),
      expect.stringMatching(/^remote, default: free-threaded, 2 workers: a remote free costs [+-][\d.]+ ns against a local one$/),
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

describe("native columns and ratios run by run", () => {
  it("warms the pipeline on a tenth of its blocks, in whole batches", () => {
    expect(PIPELINE_BATCH).toBe(64);
    expect(pipelineWarmBlocks(500_000)).toBe(49_984);
    expect(pipelineWarmBlocks(639)).toBe(0);
    expect(pipelineWarmBlocks(640)).toBe(64);
  });

  it("takes a ratio run by run: the median of neighbours' ratios, not the ratio of two medians", () => {
    // medians 20 and 5 would say 4×; run by run the ratios are 2, 4 and 1
    expect(pairedRatio([10, 20, 30], [5, 5, 30])).toBe(2);
    expect(pairedRatio([10, 20], [5, 5, 5])).toBe(3);
    expect(pairedRatio([], [1])).toBeNull();
  });

  it("runs the native columns through the caller's runner, and sums them up beside the workers' columns", async () => {
    const calls: string[] = [];
    // a fake native allocator: 2 threads take as long as 1 for twice the work, a remote free costs 30 ns more
    const native: NativeThreadRunner = async (shape, allocator, threads) => {
      calls.push(`${shape.kind} ${allocator} ${threads}`);
      if (allocator === "mimalloc") return { error: "mimalloc: no such build" };
      if (shape.kind === "churn") return { ns: 100 / threads, local: null, failures: 0 };
      if (shape.kind === "pipeline") return { ns: 50, local: 40, failures: 0 };
      return { ns: 70, local: 40, failures: 0 };
    };
    const cases = scalingCases(2, true, ["glibc", "mimalloc"]).filter((c) => c.config === "default" && !c.shape.name.startsWith("1,024"));
    expect(cases.map((c) => c.columns.map(columnName))).toEqual([
      ["private heap", "private heaps, 2 workers", "locked, 1 worker", "locked, 2 workers", "free-threaded, 1 worker", "free-threaded, 2 workers", "glibc, 1 thread", "glibc, 2 threads", "mimalloc, 1 thread", "mimalloc, 2 threads"],
      ["locked, 2 workers", "free-threaded, 2 workers", "glibc, 2 threads", "mimalloc, 2 threads"],
      ["locked, 2 workers", "free-threaded, 2 workers", "glibc, 2 threads", "mimalloc, 2 threads"],
    ]);
    // only the native columns here: the workers' columns are the first test's
    const nativeOnly = cases.map((c) => ({ ...c, columns: c.columns.filter((column) => column.mode === "glibc" || column.mode === "mimalloc") }));
    const cells = await runThreadBenchmarks(nativeOnly, { modules, runs: 3, native });
    expect(calls.filter((call) => call.startsWith("churn glibc"))).toEqual(["churn glibc 1", "churn glibc 2", "churn glibc 1", "churn glibc 2", "churn glibc 1", "churn glibc 2"]);
    const glibcChurn = cells.find((c) => c.kind === "churn" && c.column.mode === "glibc" && c.column.workers === 2)!;
    expect(glibcChurn).toMatchObject({ status: "ok", median: 50, runs: [50, 50, 50], localRuns: [] });
    const mimalloc = cells.filter((c) => c.column.mode === "mimalloc");
    for (const cell of mimalloc) expect(cell).toMatchObject({ status: "failed", error: "mimalloc: no such build", median: null });
    expect(threadSummary(cells)).toEqual([
      "churn 8..512 B, 10,000 live, default: glibc (C threads): 2 threads do 2.00× the work of 1 in the same time",
      "producer -> consumer, 16..512 B, default: glibc, 2 threads: 50.0 ns a block",
      "free of the other worker's 16..512 B blocks, default: glibc, 2 threads: a remote free costs +30.0 ns against a local one",
    ]);
    const rows = threadTableRows(cells, nativeOnly);
    expect(rows[0]).toEqual(["workload", "configuration", "unit", "glibc, 1 thread", "glibc, 2 threads", "mimalloc, 1 thread", "mimalloc, 2 threads"]);
    expect(rows[1]).toEqual(["churn 8..512 B, 10,000 live", "default", "ns/pair", "100 (1.00×)", "50.0 (0.50×)", "failed", "failed"]);
    expect(rows[3]!.slice(3)).toEqual(["-", "70.0 (1.75×) / 40.0", "-", "failed"]);
  });

  it("fails a native column when there is no runner, and a runner that rejects fails its cell", async () => {
    const [benchCase] = scalingCases(2, true, ["glibc"]);
    const only: ThreadCase = { ...benchCase!, columns: [{ mode: "glibc", workers: 1 }] };
    const [without] = await runThreadBenchmarks([only], { modules, runs: 1 });
    expect(without).toMatchObject({ status: "failed", error: "no native runner for the glibc column" });
    const [rejected] = await runThreadBenchmarks([only], { modules, runs: 1, native: () => Promise.reject(new Error("spawn ENOENT")) });
    expect(rejected).toMatchObject<Partial<ThreadCell>>({ status: "failed", error: "spawn ENOENT" });
  });

  it("compares a pipeline's columns with the locked heap's, run by run", () => {
    const cell = (mode: "locked" | "free-threaded", runs: number[], localRuns: number[]): ThreadCell => ({
      shape: "pipe", kind: "pipeline", config: "default", column: { mode, workers: 2 }, runs, median: runs[1]!, localMedian: localRuns[1]!, localRuns, status: "ok", failures: 0,
    });
    const cells = [cell("locked", [400, 800, 600], [300, 300, 300]), cell("free-threaded", [200, 800, 300], [100, 150, 60])];
    expect(threadSummary(cells)).toEqual(["pipe, default: free-threaded, 2 workers: 0.50× the locked heap's time (its workers' own work 0.33×)"]);
  });
});
