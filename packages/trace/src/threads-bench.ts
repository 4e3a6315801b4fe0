/*
 * The benchmark of heaps shared by workers: one memory, several workers allocating and freeing
 * through a registry runtime's MEM domain (`memMalloc` / `memFree`) at the same time. Every run
 * starts fresh workers on a fresh memory; each worker loads the registry, opens the runtime and
 * compiles its loop on a tenth of the work, then all wait at a gate that opens at once. A run's
 * time is from the first worker's start to the last one's end (a wall clock shared by the workers:
 * `performance.timeOrigin + performance.now()`). Runs alternate between the columns, and each cell
 * is the median of its runs. A ratio between two columns is taken run by run (run r of one
 * column against run r of the other, a second or so apart), and the median of those is given: on
 * a shared machine the slow stretches last seconds, and a ratio of neighbours cancels them where
 * a ratio of two medians, each from its own stretches, does not.
 *
 * Columns (how the workers reach the heap):
 *   private        each worker a runtime of its own over an unshared memory: with one worker,
 *                  the floor of a worker's cost; with N, nothing is shared, so their scaling is
 *                  the most the machine gives N workers running this code (its cores, caches,
 *                  and neighbours on a shared host)
 *   locked         `createRuntime({ memory: shared })` in the main thread, workers attachRuntime:
 *                  one heap, every call under its lock (tsmalloc before free-threading)
 *   free-threaded  the same with `freeThreading: true`: a heap slot per worker, no lock
 *   glibc,         the same shape in C: N POSIX threads calling the C library's malloc, or
 *   mimalloc       mimalloc (the caller's `native` runner; @tsmalloc/cli builds the program):
 *                  what native allocators get from this machine, the real limit of the targets
 *
 * Shapes:
 *   churn          each worker keeps `live` blocks and replaces a random one `pairs` times
 *   pipeline       one producer allocates, one consumer frees what it receives through a ring in a
 *                  SharedArrayBuffer: every free is of the other worker's block. The ring hands
 *                  blocks over 64 at a time, its counters on cache lines of their own, so that it
 *                  costs a plain store and a plain load per block (see the worker)
 *   remote free    one worker frees n blocks of its own, then n blocks the other worker made, each
 *                  timed, round after round: a local and a remote free in the same run
 *
 * The registry is not a dependency of this package (a runtime-shaped parameter, as replay takes):
 * the caller passes the URLs of `@tsmalloc/registry` and `@tsmalloc/memory`
 * (`import.meta.resolve(...)`), which the workers import.
 */
import { shareWorkload } from "./bench-harness.ts";
import { type Churn, churn } from "./churn.ts";
import { median } from "./median.ts";
import { startWorker } from "./worker.ts";

/** Where the workers find the registry and the memory package. */
export interface ThreadBenchModules {
  /** URL of `@tsmalloc/registry`. */
  readonly registry: string;
  /** URL of `@tsmalloc/memory`. */
  readonly memory: string;
}

/** The native allocators of the native columns: the C library's malloc, and mimalloc. */
export type NativeThreadAllocator = "glibc" | "mimalloc";

/**
 * How the workers of a column reach the heap, or which native allocator C threads call instead
 * (see the module comment).
 */
export type ThreadMode = "private" | "locked" | "free-threaded" | NativeThreadAllocator;

/** True for the modes of the native columns. Never throws. */
export function isNativeMode(mode: ThreadMode): mode is NativeThreadAllocator {
  return mode === "glibc" || mode === "mimalloc";
}

/**
 * One run of a case in a column: nanoseconds per unit (see {@link ThreadCell.runs}), the second
 * figure (a local free's, or the pipeline's busy time; null for churn) and the NULLs; or why there
 * is none.
 */
export type ThreadRunOutcome = { readonly ns: number; readonly local: number | null; readonly failures: number } | "over budget" | { readonly error: string };

/**
 * Runs one case in a native column: the shape with `threads` C threads through `allocator`,
 * stopped after `budgetMs`. Must never reject (an error is an outcome; a rejection is taken as one).
 */
export type NativeThreadRunner = (shape: ThreadShape, allocator: NativeThreadAllocator, threads: number, budgetMs: number) => Promise<ThreadRunOutcome>;

/** A column of the table: a mode and a number of workers. */
export interface ThreadColumn {
  readonly mode: ThreadMode;
  readonly workers: number;
}

/** A shape of work (see the module comment). */
export type ThreadShape =
  | { readonly kind: "churn"; readonly name: string; readonly churn: Churn }
  | { readonly kind: "pipeline"; readonly name: string; readonly blocks: number; readonly minSize: number; readonly maxSize: number }
  | { readonly kind: "remote free"; readonly name: string; readonly blocks: number; readonly rounds: number; readonly minSize: number; readonly maxSize: number };

/** A row of the table: a shape under one configuration, in the given columns. */
export interface ThreadCase {
  readonly shape: ThreadShape;
  /** The runtime's configuration (`"default"`, `"malloc"`, ...). */
  readonly config: string;
  readonly columns: readonly ThreadColumn[];
}

/** How {@link runThreadBenchmarks} runs. */
export interface ThreadBenchOptions {
  readonly modules: ThreadBenchModules;
  /** Runs per cell. @defaultValue 5 */
  readonly runs?: number;
  /** Milliseconds one run may take before its workers are stopped. @defaultValue 60000 */
  readonly budgetMs?: number;
  /** Called after every run, for progress output. */
  readonly progress?: (message: string) => void;
  /** Runs the native columns (glibc, mimalloc); without it, a native column's cells fail. */
  readonly native?: NativeThreadRunner;
}

/** One cell: a case in one column. */
export interface ThreadCell {
  readonly shape: string;
  /** The shape's kind. */
  readonly kind: ThreadShape["kind"];
  readonly config: string;
  readonly column: ThreadColumn;
  /**
   * Nanoseconds per unit of each completed run: per pair of all the workers' pairs (churn), per
   * block (pipeline), per free of the other worker's blocks (remote free).
   */
  readonly runs: readonly number[];
  readonly median: number | null;
  /**
   * Remote free: nanoseconds per free of the worker's own blocks, in the same runs. Pipeline:
   * nanoseconds of the two workers' own work per block (the producer's malloc and hand-over, the
   * consumer's free), each timed in batches of 64 with its waits left out (the median batch), so
   * that it holds on a loaded machine, where the wall time is mostly waiting for a core. Null
   * for churn.
   */
  readonly localMedian: number | null;
  /** The second figure of each completed run (see `localMedian`), in the order of `runs`. */
  readonly localRuns: readonly number[];
  readonly status: "ok" | "over budget" | "failed";
  /** Allocations that returned 0, in the last run. */
  readonly failures: number;
  readonly error?: string;
}

/** What a bench worker posts back. @internal */
export interface ThreadBenchReply {
  readonly ok: boolean;
  /** Start and end of its timed work, in milliseconds on the shared clock. */
  readonly start?: number;
  readonly end?: number;
  readonly failures?: number;
  /** Remote free: milliseconds to free its own blocks, and the other worker's, in a round (the median round). */
  readonly localMs?: number;
  readonly remoteMs?: number;
  /** Pipeline: nanoseconds of its own work per block, in the median batch (waits left out). */
  readonly busyNs?: number;
  readonly error?: string;
}

/** What a bench worker is sent. @internal */
export interface ThreadBenchJob {
  readonly modules: ThreadBenchModules;
  readonly mode: ThreadMode;
  readonly config: string;
  /** The shared memory's source (locked, free-threaded), or null (private). */
  readonly source: unknown;
  readonly shape: ThreadShape;
  /** The worker's index among the run's workers (its role in the pipeline and remote free). */
  readonly index: number;
  readonly workers: number;
  /** Word 0: workers ready; word 1: 1 when the gate opens. */
  readonly gate: Int32Array;
  /** Pipeline: counts and ring; remote free: the blocks the other worker made. */
  readonly exchange: Int32Array;
}

/** The column's name in the table: `private heap`, `private heaps, 2 workers`, `locked, 2 workers`, ... */
export function columnName(column: ThreadColumn): string {
  if (isNativeMode(column.mode)) return `${column.mode}, ${column.workers} thread${column.workers === 1 ? "" : "s"}`;
  if (column.mode === "private") return column.workers === 1 ? "private heap" : `private heaps, ${column.workers} workers`;
  return `${column.mode}, ${column.workers} worker${column.workers === 1 ? "" : "s"}`;
}

/** The unit of a shape's cells. */
export function shapeUnit(shape: ThreadShape): string {
  return shape.kind === "churn" ? "ns/pair" : shape.kind === "pipeline" ? "ns/block" : "ns/free";
}

interface RegistryModule {
  createRuntime(options: object): { close(): void };
}

interface MemoryModule {
  LinearMemory: new (options: object) => { readonly source: unknown };
}

/** This module's worker, as a source file in the monorepo or as a built one in `dist/`. */
const WORKER = import.meta.url.endsWith(".ts") ? "./threads-bench-worker.ts" : "./threads-bench-worker.js";

/**
 * Words of the exchange array: for the pipeline, its counters and flags (a 64-byte line each, 64
 * words in all) and a ring of 4096; for a remote free, the blocks.
 */
function exchangeWords(shape: ThreadShape): number {
  return shape.kind === "pipeline" ? 64 + 4096 : shape.kind === "remote free" ? 2 + shape.blocks : 1;
}

/** One run of a case in a column. @returns ns per unit and the failures, or why there is none */
async function runOnce(benchCase: ThreadCase, column: ThreadColumn, options: ThreadBenchOptions, budgetMs: number): Promise<ThreadRunOutcome> {
  const { mode } = column;
  if (isNativeMode(mode)) {
    if (options.native === undefined) return { error: `no native runner for the ${mode} column` };
    return options.native(benchCase.shape, mode, column.workers, budgetMs);
  }
  const { modules } = options;
  const { shape, config } = benchCase;
  let source: unknown = null;
  let creator: { close(): void } | null = null;
  if (column.mode !== "private") {
    // the main thread makes the runtime (it holds slot 1 when free-threaded, and stays idle)
    const registry = (await import(modules.registry)) as RegistryModule;
    const { LinearMemory } = (await import(modules.memory)) as MemoryModule;
    const memory = new LinearMemory({ shared: true });
    creator = registry.createRuntime({ memory, allocator: config, freeThreading: column.mode === "free-threaded" });
    source = memory.source;
  }
  const gate = new Int32Array(new SharedArrayBuffer(8));
  const exchange = new Int32Array(new SharedArrayBuffer(4 * exchangeWords(shape)));
  const workers = Array.from({ length: column.workers }, (_, index) => {
    const job: ThreadBenchJob = { modules, mode: column.mode, config, source, shape, index, workers: column.workers, gate, exchange };
    return startWorker(new URL(WORKER, import.meta.url), job);
  });
  const replies = workers.map(
    (worker) =>
      new Promise<ThreadBenchReply>((resolve) => {
        worker.once("message", resolve);
        worker.once("error", (error) => resolve({ ok: false, error: String(error) }));
        worker.once("exit", (code) => resolve({ ok: false, error: `worker exited with code ${code}` }));
      }),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overBudget = new Promise<"over budget">((resolve) => {
    timer = setTimeout(() => resolve("over budget"), budgetMs);
  });
  // every reply, or the first failure as soon as it comes
  const settled = new Promise<ThreadBenchReply[]>((resolve) => {
    const got: ThreadBenchReply[] = [];
    let count = 0;
    for (const [i, reply] of replies.entries()) {
      void reply.then((r) => {
        if (!r.ok) resolve([r]);
        got[i] = r;
        if (++count === replies.length) resolve(got);
      });
    }
  });
  try {
    // open the gate once every worker is ready, without blocking this thread (and stop looking
    // once the run is over, whatever happened)
    void (async (): Promise<void> => {
      while (Atomics.load(gate, 0) < column.workers && Atomics.load(gate, 1) === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
    })();
    const outcome = await Promise.race([settled, overBudget]);
    if (outcome === "over budget") return "over budget";
    const failed = outcome.find((reply) => !reply.ok);
    if (failed !== undefined) return { error: failed.error ?? "unknown error" };
    const start = Math.min(...outcome.map((reply) => reply.start!));
    const end = Math.max(...outcome.map((reply) => reply.end!));
    const failures = outcome.reduce((sum, reply) => sum + (reply.failures ?? 0), 0);
    const ms = end - start;
    if (shape.kind === "churn") return { ns: (ms * 1e6) / (shape.churn.pairs * column.workers), local: null, failures };
    if (shape.kind === "pipeline") return { ns: (ms * 1e6) / shape.blocks, local: outcome.reduce((sum, reply) => sum + (reply.busyNs ?? 0), 0), failures };
    const timed = outcome.find((reply) => reply.remoteMs !== undefined)!;
    return { ns: (timed.remoteMs! * 1e6) / shape.blocks, local: (timed.localMs! * 1e6) / shape.blocks, failures };
  } finally {
    clearTimeout(timer);
    // a worker that never got the gate open must not wait for ever
    Atomics.store(gate, 1, 1);
    Atomics.notify(gate, 1);
    await Promise.all(workers.map((worker) => worker.terminate()));
    creator?.close();
  }
}

/** Runs every case in each of its columns; see the module comment for the method. */
export async function runThreadBenchmarks(cases: readonly ThreadCase[], options: ThreadBenchOptions): Promise<ThreadCell[]> {
  const runs = options.runs ?? 5;
  const budgetMs = options.budgetMs ?? 60_000;
  const cells: ThreadCell[] = [];
  for (const given of cases) {
    // the churn's arrays go to every worker in SharedArrayBuffers (no copies)
    const benchCase: ThreadCase = given.shape.kind === "churn" ? { ...given, shape: { ...given.shape, churn: (shareWorkload({ kind: "churn", churn: given.shape.churn }) as { churn: Churn }).churn } } : given;
    const { shape, config, columns } = benchCase;
    const times = columns.map((): number[] => []);
    const locals = columns.map((): number[] => []);
    const status = columns.map((): ThreadCell["status"] => "ok");
    const errors = columns.map((): string | undefined => undefined);
    const failures = columns.map(() => 0);
    for (let run = 0; run < runs; run++) {
      for (const [i, column] of columns.entries()) {
        if (status[i] !== "ok") continue;
        let outcome: ThreadRunOutcome;
        try {
          outcome = await runOnce(benchCase, column, options, budgetMs);
        } catch (error) {
          outcome = { error: error instanceof Error ? error.message : String(error) };
        }
        if (outcome === "over budget") {
          status[i] = "over budget";
        } else if ("error" in outcome) {
          status[i] = "failed";
          errors[i] = outcome.error;
        } else {
          times[i]!.push(outcome.ns);
          if (outcome.local !== null) locals[i]!.push(outcome.local);
          failures[i] = outcome.failures;
        }
        const last = times[i]!.at(-1);
        options.progress?.(`${shape.name} | ${config} | ${columnName(column)} | run ${run + 1}/${runs}: ${status[i] === "ok" && last !== undefined ? `${last.toFixed(1)} ns` : status[i]}`);
      }
    }
    for (const [i, column] of columns.entries()) {
      const error = errors[i];
      cells.push({
        shape: shape.name,
        kind: shape.kind,
        config,
        column,
        runs: times[i]!,
        median: status[i] === "ok" ? median(times[i]!) : null,
        localMedian: status[i] === "ok" ? median(locals[i]!) : null,
        localRuns: locals[i]!,
        status: status[i]!,
        failures: failures[i]!,
        ...(error === undefined ? {} : { error }),
      });
    }
  }
  return cells;
}

/** A figure as the tables print it: no decimals from 100 on, one below. */
function figure(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

/**
 * The median, run by run, of `combine(a[r], b[r])` over the runs both have (see the module
 * comment: neighbouring runs, a second apart, share the machine's slow stretches). Null when
 * there is no run.
 */
function pairedMedian(a: readonly number[], b: readonly number[], combine: (x: number, y: number) => number): number | null {
  const n = Math.min(a.length, b.length);
  const values: number[] = [];
  for (let r = 0; r < n; r++) values.push(combine(a[r]!, b[r]!));
  return median(values);
}

/** `a`'s runs against `b`'s, run by run: the median of a[r] / b[r]. Null when there is no run. */
export function pairedRatio(a: readonly number[], b: readonly number[]): number | null {
  return pairedMedian(a, b, (x, y) => x / y);
}

/**
 * The table of {@link runThreadBenchmarks} as rows of text cells: a header row (`workload`,
 * `configuration`, `unit`, then the columns' names), then one row per case. A cell reads
 * `median (ratio×)`, the ratio to the row's first column taken run by run ({@link pairedRatio});
 * a remote-free cell reads `remote (ratio×) / local`: the other worker's blocks, its ratio to its
 * own (run by run), its own; a pipeline cell adds `/ busy (ratio×)`: the workers' own work per
 * block and its ratio to the first column's.
 */
export function threadTableRows(cells: readonly ThreadCell[], cases: readonly ThreadCase[]): string[][] {
  const names: string[] = [];
  for (const benchCase of cases) for (const column of benchCase.columns) if (!names.includes(columnName(column))) names.push(columnName(column));
  const rows = [["workload", "configuration", "unit", ...names]];
  for (const benchCase of cases) {
    const row = cells.filter((c) => c.shape === benchCase.shape.name && c.config === benchCase.config);
    const base = row[0]?.median === null ? undefined : row[0];
    const text = names.map((name) => {
      const cell = row.find((c) => columnName(c.column) === name);
      if (cell === undefined) return "-";
      if (cell.median === null) return cell.status;
      const failures = cell.failures > 0 ? ` [${cell.failures} NULL]` : "";
      if (benchCase.shape.kind === "remote free") {
        const local = cell.localMedian;
        const ratio = pairedRatio(cell.runs, cell.localRuns);
        return local === null || ratio === null ? figure(cell.median) : `${figure(cell.median)} (${ratio.toFixed(2)}×) / ${figure(local)}${failures}`;
      }
      const ratio = base === undefined ? null : pairedRatio(cell.runs, base.runs);
      const busyRatio = base === undefined ? null : pairedRatio(cell.localRuns, base.localRuns);
      const busy = benchCase.shape.kind === "pipeline" && cell.localMedian !== null ? ` / ${figure(cell.localMedian)} busy${busyRatio === null ? "" : ` (${busyRatio.toFixed(2)}×)`}` : "";
      return `${figure(cell.median)}${ratio === null ? "" : ` (${ratio.toFixed(2)}×)`}${busy}${failures}`;
    });
    rows.push([benchCase.shape.name, benchCase.config, shapeUnit(benchCase.shape), ...text]);
  }
  return rows;
}

/** {@link threadTableRows} as a Markdown table. */
export function formatThreadTable(cells: readonly ThreadCell[], cases: readonly ThreadCase[]): string {
  const [header, ...rows] = threadTableRows(cells, cases);
  const lines = [`| ${header!.join(" | ")} |`, `|---|---|---|${header!.slice(3).map(() => "---:").join("|")}|`];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

/** What a summary line calls a mode. */
function modeLabel(mode: ThreadMode): string {
  if (mode === "private") return "private heaps (nothing shared: the machine's ceiling)";
  if (isNativeMode(mode)) return `${mode} (C threads)`;
  return mode;
}

/** The order of the modes in a summary line. */
const SUMMARY_MODES: readonly ThreadMode[] = ["free-threaded", "locked", "private", "glibc", "mimalloc"];

/**
 * What the table means against the targets, one line per row with a summary, every ratio taken
 * run by run ({@link pairedRatio}):
 * - churn: the throughput of N workers against one, in each mode (private heaps share nothing,
 *   so theirs is the most this machine gives N workers of this code; glibc and mimalloc, what it
 *   gives native allocators), and one free-threaded worker's time against a private heap;
 * - pipeline: each two-worker column's wall time and busy time against the locked heap's;
 * - remote free: what a free of the other worker's block costs more than a free of one's own, in
 *   each column.
 * Never throws.
 */
export function threadSummary(cells: readonly ThreadCell[]): string[] {
  const lines: string[] = [];
  const rows = [...new Set(cells.map((c) => `${c.shape}\u0000${c.config}`))];
  for (const key of rows) {
    const [shape, config] = key.split("\u0000") as [string, string];
    const row = cells.filter((c) => c.shape === shape && c.config === config);
    const cellOf = (mode: ThreadMode, workers: number): ThreadCell | undefined => row.find((c) => c.column.mode === mode && c.column.workers === workers && c.median !== null);
    const parts: string[] = [];
    const kind = row[0]!.kind;
    if (kind === "churn") {
      const most = Math.max(...row.map((c) => c.column.workers));
      for (const mode of SUMMARY_MODES) {
        const one = cellOf(mode, 1);
        const many = cellOf(mode, most);
        const gain = one === undefined || many === undefined || most === 1 ? null : pairedRatio(one.runs, many.runs);
        if (gain !== null) parts.push(`${modeLabel(mode)}: ${most} ${isNativeMode(mode) ? "threads" : "workers"} do ${gain.toFixed(2)}× the work of 1 in the same time`);
      }
      const own = cellOf("free-threaded", 1);
      const floor = cellOf("private", 1);
      const cost = own === undefined || floor === undefined ? null : pairedRatio(own.runs, floor.runs);
      if (cost !== null) parts.push(`one free-threaded worker costs ${cost.toFixed(2)}× a private heap`);
    } else if (kind === "pipeline") {
      const locked = row.find((c) => c.column.mode === "locked" && c.median !== null);
      for (const cell of row) {
        if (cell === locked || cell.median === null) continue;
        if (locked === undefined) {
          parts.push(`${columnName(cell.column)}: ${figure(cell.median)} ns a block`);
          continue;
        }
        const wall = pairedRatio(cell.runs, locked.runs)!;
        const busy = pairedRatio(cell.localRuns, locked.localRuns);
        parts.push(`${columnName(cell.column)}: ${wall.toFixed(2)}× the locked heap's time${busy === null ? "" : ` (its workers' own work ${busy.toFixed(2)}×)`}`);
      }
    } else {
      for (const cell of row) {
        const extra = cell.median === null ? null : pairedMedian(cell.runs, cell.localRuns, (remote, local) => remote - local);
        if (extra !== null) parts.push(`${columnName(cell.column)}: a remote free costs ${extra >= 0 ? "+" : ""}${figure(extra)} ns against a local one`);
      }
    }
    if (parts.length > 0) lines.push(`${shape}, ${config}: ${parts.join("; ")}`);
  }
  return lines;
}

/**
 * The cases of the workers benchmark (`pnpm bench` in @tsmalloc/registry, `tsmalloc bench
 * --workers N`), for the issue's shapes: churn of small blocks (8..512 bytes under pymalloc,
 * 8..2048 under malloc, 10,000 live per worker) and emscripten's `test_malloc_multithreading`
 * (1,024 live blocks of 1000..2023 bytes per worker), in every column with 1 and `workers`
 * workers; a producer -> consumer pipeline; and a remote free against a local one. `native`: the
 * native allocators to add as columns (1 and `workers` C threads for the churns, 2 for the
 * pipeline and the remote free). `quick`: a twentieth of the work, a smoke test. Never throws.
 */
export function scalingCases(workers: number, quick: boolean, native: readonly NativeThreadAllocator[] = []): ThreadCase[] {
  const scale = (n: number): number => (quick ? Math.floor(n / 20) : n);
  const scaling: ThreadColumn[] = [
    { mode: "private", workers: 1 },
    { mode: "private", workers },
    { mode: "locked", workers: 1 },
    { mode: "locked", workers },
    { mode: "free-threaded", workers: 1 },
    { mode: "free-threaded", workers },
    ...native.flatMap((mode): ThreadColumn[] => [
      { mode, workers: 1 },
      { mode, workers },
    ]),
  ];
  const pair: ThreadColumn[] = [{ mode: "locked", workers: 2 }, { mode: "free-threaded", workers: 2 }, ...native.map((mode): ThreadColumn => ({ mode, workers: 2 }))];
  const cases: ThreadCase[] = [];
  for (const [config, max] of [["default", 512], ["malloc", 2048]] as const) {
    cases.push({ config, columns: scaling, shape: { kind: "churn", name: `churn 8..${max} B, 10,000 live`, churn: churn(`churn 8..${max}`, 8, max, 10_000, scale(1_000_000), 3) } });
  }
  for (const config of ["default", "malloc"]) {
    cases.push({ config, columns: scaling, shape: { kind: "churn", name: "1,024 live of 1000..2023 B", churn: churn("emscripten", 1000, 2023, 1024, scale(500_000), 5) } });
  }
  for (const config of ["default", "malloc"]) {
    cases.push({ config, columns: pair, shape: { kind: "pipeline", name: "producer -> consumer, 16..512 B", blocks: scale(500_000), minSize: 16, maxSize: 512 } });
  }
  for (const config of ["default", "malloc"]) {
    // 500 blocks of 16..512 B are about 130 KiB a side: both sets fit in a core's L2 (512 KiB on
    // this machine), so that a local free is not a cache miss and a remote one is the allocator's
    // work plus the transfer of the other core's lines
    cases.push({ config, columns: pair, shape: { kind: "remote free", name: "free of the other worker's 16..512 B blocks", blocks: 500, rounds: quick ? 21 : 401, minSize: 16, maxSize: 512 } });
  }
  return cases;
}
