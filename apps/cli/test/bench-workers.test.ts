/*
 * `tsmalloc bench --workers N` through the built command: one quick run of the workers benchmark
 * (every cell a run of fresh workers), as JSON and as Markdown with a budget no run can meet, and
 * the usage errors of --workers.
 */
import { describe, expect, it } from "vitest";
import { expectFailure, expectOk, jsonOf, runCli } from "./helpers.ts";

interface WorkersJson {
  readonly workers: number;
  readonly runs: number;
  readonly quick: boolean;
  readonly cells: readonly { readonly shape: string; readonly config: string; readonly column: { readonly mode: string; readonly workers: number }; readonly status: string; readonly median: number | null; readonly localMedian: number | null }[];
  readonly summary: readonly string[];
  readonly nativeNotes: readonly string[];
}

describe("tsmalloc bench --workers", () => {
  it("--quick --json: every shape in every column, timed, and the summary of scaling", { timeout: 300_000 }, async () => {
    const json = jsonOf<WorkersJson>(await runCli(["bench", "--workers", "2", "--quick", "--json"]));
    expect(json).toMatchObject({ workers: 2, runs: 1, quick: true });
    const failed = json.cells.filter((cell) => cell.status !== "ok");
    expect(failed).toEqual([]);
    const shapes = [...new Set(json.cells.map((cell) => cell.shape))];
    expect(shapes).toEqual(["churn 8..512 B, 10,000 live", "churn 8..2048 B, 10,000 live", "1,024 live of 1000..2023 B", "producer -> consumer, 16..512 B", "free of the other worker's 16..512 B blocks"]);
    const churn = json.cells.filter((cell) => cell.shape === "churn 8..512 B, 10,000 live");
    // the native columns: C threads through glibc and mimalloc (scripts/ensure-native-bench.sh installs cc and libmimalloc-dev)
    expect(churn.map((cell) => `${cell.column.mode} ${cell.column.workers}`)).toEqual(["private 1", "private 2", "locked 1", "locked 2", "free-threaded 1", "free-threaded 2", "glibc 1", "glibc 2", "mimalloc 1", "mimalloc 2"]);
    const remote = json.cells.filter((cell) => cell.shape.startsWith("free of") && cell.config === "default");
    expect(remote.map((cell) => `${cell.column.mode} ${cell.column.workers}`)).toEqual(["locked 2", "free-threaded 2", "glibc 2", "mimalloc 2"]);
    for (const cell of json.cells) expect(cell.median).toBeGreaterThan(0);
    for (const cell of json.cells.filter((c) => c.shape.startsWith("free of"))) expect(cell.localMedian).toBeGreaterThan(0);
    expect(json.nativeNotes).toEqual([]);
    // a line per row: the 4 churns, the 2 pipelines, the 2 remote frees
    expect(json.summary).toHaveLength(8);
    expect(json.summary[0]).toMatch(
      /^churn 8\.\.512 B, 10,000 live, default: free-threaded: 2 workers do [\d.]+× the work of 1 in the same time; locked: 2 workers do [\d.]+× the work of 1 in the same time; private heaps \(nothing shared: the machine's ceiling\): 2 workers do [\d.]+× the work of 1 in the same time; glibc \(C threads\): 2 threads do [\d.]+× the work of 1 in the same time; mimalloc \(C threads\): 2 threads do [\d.]+× the work of 1 in the same time; one free-threaded worker costs [\d.]+× a private heap$/,
    );
    expect(json.summary[4]).toMatch(/^producer -> consumer, 16\.\.512 B, default: free-threaded, 2 workers: [\d.]+× the locked heap's time \(its workers' own work [\d.]+×\); glibc, 2 threads: [\d.]+× the locked heap's time \(its workers' own work [\d.]+×\); mimalloc, 2 threads: /);
    expect(json.summary[6]).toMatch(/^free of the other worker's 16\.\.512 B blocks, default: locked, 2 workers: a remote free costs [+-][\d.]+ ns against a local one; free-threaded, 2 workers: .*; glibc, 2 threads: .*; mimalloc, 2 threads: a remote free costs [+-][\d.]+ ns against a local one$/);
  });

  it("--markdown with a budget no run can meet: every cell over budget", { timeout: 120_000 }, async () => {
    const text = expectOk(await runCli(["bench", "--workers", "3", "--quick", "--markdown", "--budget", "0.001"]));
    const lines = text.split("\n");
    expect(lines[0]).toBe(
      "| workload | configuration | unit | private heap | private heaps, 3 workers | locked, 1 worker | locked, 3 workers | free-threaded, 1 worker | free-threaded, 3 workers | glibc, 1 thread | glibc, 3 threads | mimalloc, 1 thread | mimalloc, 3 threads | locked, 2 workers | free-threaded, 2 workers | glibc, 2 threads | mimalloc, 2 threads |",
    );
    expect(lines[2]).toBe("| churn 8..512 B, 10,000 live | default | ns/pair | over budget | over budget | over budget | over budget | over budget | over budget | over budget | over budget | over budget | over budget | - | - | - | - |");
    expect(text).toContain("; budget 0.001 s per run; ");
  });

  it("refuses a worker count below 2, traces and --allocators, with exit 2", async () => {
    for (const [args, message] of [
      [["--workers", "1"], '--workers must be a whole number of at least 2, got "1"'],
      [["--workers", "two"], "--workers must be a whole number of at least 2"],
      [["--workers", "2", "some.trace"], "--workers runs its own workloads; it takes no traces"],
      [["--workers", "2", "--allocators", "default"], "it takes no --allocators"],
    ] as const) {
      expect(expectFailure(await runCli(["bench", ...args]), 2)).toContain(message);
    }
  });
});
