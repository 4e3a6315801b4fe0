/*
 * The benchmark harness. Each run of each contender on each workload happens in a fresh worker,
 * so that no contender's JIT feedback or garbage slows another, and a contender that overruns
 * the time budget is simply terminated and shown as over budget. Runs alternate between
 * contenders (run 1 of every contender, then run 2, ...), so that machine noise spreads over all
 * of them; each cell reports the median and its ratio to the first contender of the row.
 *
 * Workloads are built once and handed to workers in SharedArrayBuffers (no copies).
 */
import type { Churn } from "./churn.ts";
import { argumentError } from "./errors.ts";
import { median } from "./median.ts";
import type { ReplayTarget } from "./replay-target.ts";
import type { Trace } from "./trace.ts";
import { startWorker } from "./worker.ts";

/**
 * Makes a fresh target for one run; null when the contender cannot take this workload. A
 * contender module exports `contenders: Record<string, ContenderFactory>`.
 */
export type ContenderFactory = (workload: BenchWorkload) => ReplayTarget | null;

/**
 * A contender that runs outside the workers (a native program, say): called once per run of
 * `benchCase`, in the contenders' turn, it does the whole run itself and must end it within
 * `budgetMs`, resolving "over budget" when it could not. It never rejects: a failure is a reply
 * with `ok: false` and an `error`; a workload it cannot take, `unavailable: true`.
 */
export type ExternalContender = (benchCase: BenchCase, budgetMs: number) => Promise<BenchReply | "over budget">;

/** A benchmark workload. */
export type BenchWorkload = { readonly kind: "churn"; readonly churn: Churn } | { readonly kind: "replay"; readonly trace: Trace };

/** One row of the table: a workload, and how each run treats it. */
export interface BenchCase {
  readonly name: string;
  readonly workload: BenchWorkload;
  /**
   * Run the workload once, untimed, on the target that is then timed, and free what that pass
   * leaves live: the timed run starts on an empty heap whose memory is already faulted in and
   * whose structures are warm. Without it the timed run starts on a fresh target, whose first
   * touches of each page cost a kernel page fault.
   */
  readonly warm?: boolean;
  /**
   * The fraction of the workload each run first replays on a throw-away target, untimed, so that
   * the timed run finds the code compiled. A tenth (the default) compiles the hot loop; a trace's
   * later phases can still find code paths cold, so the command line replays whole traces (1).
   * @defaultValue 0.1
   */
  readonly warmup?: number;
}

/** How {@link runBenchmarks} runs. */
export interface BenchOptions {
  /** URL of the module whose `contenders` export maps names to {@link ContenderFactory}s. */
  readonly module: URL;
  /** Contender names, in column order (the first is the ratio baseline). */
  readonly contenders: readonly string[];
  /** Runs per cell. @defaultValue 5 */
  readonly runs?: number;
  /** Milliseconds one run may take before it is stopped. @defaultValue 30000 */
  readonly budgetMs?: number;
  /**
   * Contenders run by a function of their own instead of a worker, by name (names in
   * `contenders` that are not here come from `module`).
   */
  readonly external?: Readonly<Record<string, ExternalContender>>;
  /** Called after every run, for progress output. */
  readonly progress?: (message: string) => void;
}

/** One cell: a contender on a case, with every run's time. */
export interface BenchCell {
  readonly case: string;
  readonly contender: string;
  /** Nanoseconds per unit (pair or event) of each completed run. */
  readonly runs: readonly number[];
  /** Median of `runs`, or null when no run completed. */
  readonly median: number | null;
  readonly status: "ok" | "over budget" | "unavailable" | "failed";
  /** Requests that returned 0, in the last run. */
  readonly failures: number;
  readonly error?: string;
}

/** What a bench worker posts back for one run. */
export interface BenchReply {
  readonly ok: boolean;
  readonly nanoseconds?: number;
  readonly units?: number;
  readonly failures?: number;
  readonly unavailable?: boolean;
  readonly error?: string;
}

/** A copy of `array` in a SharedArrayBuffer. */
function share<T extends Uint8Array | Uint32Array | Float64Array>(array: T): T {
  const Type = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const shared = new Type(new SharedArrayBuffer(array.byteLength));
  shared.set(array as never);
  return shared;
}

/** A copy of `workload` whose arrays live in SharedArrayBuffers. */
export function shareWorkload(workload: BenchWorkload): BenchWorkload {
  if (workload.kind === "churn") {
    const c = workload.churn;
    return { kind: "churn", churn: { ...c, sizes: share(c.sizes), slots: share(c.slots) } };
  }
  const t = workload.trace;
  return { kind: "replay", trace: { ...t, op: share(t.op), id: share(t.id), arg: share(t.arg), size: share(t.size) } };
}

/** This module's sibling, as a source file in the monorepo or as a built one in `dist/`. */
const BENCH_WORKER = import.meta.url.endsWith(".ts") ? "./bench-worker.ts" : "./bench-worker.js";

function runOnce(options: BenchOptions, contender: string, workload: BenchWorkload, benchCase: BenchCase, budgetMs: number): Promise<BenchReply | "over budget"> {
  const job = { module: options.module.href, contender, workload, warm: benchCase.warm === true, warmup: benchCase.warmup ?? 0.1 };
  const worker = startWorker(new URL(BENCH_WORKER, import.meta.url), job);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      resolve("over budget");
    }, budgetMs);
    worker.once("message", (reply: BenchReply) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(reply);
    });
    worker.once("error", (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: String(error) });
    });
  });
}

/**
 * Runs every contender on every case; see the module comment for the method. A contender that
 * fails, overruns the budget or cannot take a workload is marked so in its cell, and not run
 * again on that case.
 * @returns one cell per case and contender, in that order
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `module` is not a URL, or `runs`
 *   or `budgetMs` is not a positive number
 */
export async function runBenchmarks(cases: readonly BenchCase[], options: BenchOptions): Promise<BenchCell[]> {
  const runs = options.runs ?? 5;
  const budgetMs = options.budgetMs ?? 30_000;
  if (!(options.module instanceof URL)) throw argumentError("runBenchmarks", "module must be the URL of the contenders' module");
  if (!Number.isInteger(runs) || runs < 1) throw argumentError("runBenchmarks", `runs must be a positive integer, got ${String(runs)}`);
  if (!(budgetMs > 0)) throw argumentError("runBenchmarks", `budgetMs must be a positive number, got ${String(budgetMs)}`);
  const cells: BenchCell[] = [];
  for (const benchCase of cases) {
    const workload = shareWorkload(benchCase.workload);
    const times = new Map<string, number[]>(options.contenders.map((c) => [c, []]));
    const status = new Map<string, BenchCell["status"]>(options.contenders.map((c) => [c, "ok"]));
    const failures = new Map<string, number>();
    const errors = new Map<string, string>();
    for (let run = 0; run < runs; run++) {
      for (const contender of options.contenders) {
        if (status.get(contender) !== "ok") continue;
        const external = options.external?.[contender];
        const reply = external !== undefined ? await external(benchCase, budgetMs) : await runOnce(options, contender, workload, benchCase, budgetMs);
        if (reply === "over budget") {
          status.set(contender, "over budget");
        } else if (reply.unavailable === true) {
          status.set(contender, "unavailable");
        } else if (!reply.ok) {
          status.set(contender, "failed");
          errors.set(contender, reply.error ?? "unknown error");
        } else {
          times.get(contender)!.push(reply.nanoseconds! / reply.units!);
          failures.set(contender, reply.failures ?? 0);
        }
        const last = times.get(contender)!.at(-1);
        options.progress?.(`${benchCase.name} | ${contender} | run ${run + 1}/${runs}: ${status.get(contender) === "ok" && last !== undefined ? `${last.toFixed(1)} ns` : status.get(contender)}`);
      }
    }
    for (const contender of options.contenders) {
      const values = times.get(contender)!;
      const error = errors.get(contender);
      cells.push({
        case: benchCase.name,
        contender,
        runs: values,
        median: status.get(contender) === "ok" ? median(values) : null,
        status: status.get(contender)!,
        failures: failures.get(contender) ?? 0,
        ...(error === undefined ? {} : { error }),
      });
    }
  }
  return cells;
}
