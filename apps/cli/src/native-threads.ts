/*
 * The native columns of `tsmalloc bench --workers N`: c/tsmalloc-threads.c, the workers
 * benchmark's shapes with POSIX threads, built with the system's C compiler on first use into the
 * cache folder (c-build.ts), twice:
 *
 *   threads-glibc-<hash>-x64      -pthread -lm              column glibc (the C library's malloc)
 *   threads-mimalloc-<hash>-x64   -pthread -lm -lmimalloc   column mimalloc (where libmimalloc-dev is installed)
 *
 * Each run of a native cell is one run of that program (fresh threads on a fresh heap, as each run
 * of a workers' cell has fresh workers on a fresh memory), in the columns' turn. The program draws
 * the same churn as @tsmalloc/trace (it checks the sequence's hash) and prints one JSON line.
 */
import { fileURLToPath } from "node:url";
import type { NativeThreadAllocator, NativeThreadRunner, ThreadRunOutcome, ThreadShape } from "@tsmalloc/trace/bench";
import { messageOf } from "./errors.ts";
import { buildNativeVariants, lastJsonLine, type NativeBuilds, runNativeProgram } from "./native-program.ts";
import { churnHash } from "./native-replayer.ts";

/** The program's C source, beside src/ and dist/ in this package. */
export const THREADS_SOURCE: string = fileURLToPath(new URL("../c/tsmalloc-threads.c", import.meta.url));

/** The native allocators of the columns, in their order. */
export const NATIVE_THREAD_ALLOCATORS: readonly NativeThreadAllocator[] = ["glibc", "mimalloc"];

/** The compiler's flags and libraries of each build, and the program's `--allocator`. */
const BUILDS: Readonly<Record<NativeThreadAllocator, { readonly flags: readonly string[]; readonly libraries: readonly string[]; readonly allocator: string }>> = {
  glibc: { flags: ["-O2", "-pthread"], libraries: ["-lm"], allocator: "libc" },
  mimalloc: { flags: ["-O2", "-pthread", "-DTSMALLOC_THREADS_MIMALLOC"], libraries: ["-lm", "-lmimalloc"], allocator: "mimalloc" },
};

/**
 * Finds or builds the program for each native column. Never throws: a build that cannot be made
 * (no compiler, no mimalloc headers, not Linux with glibc, an unreadable source) is left out, with
 * a line that says which column is missing and how to get it.
 */
export function ensureThreadPrograms(env: Readonly<Record<string, string | undefined>>): NativeBuilds<NativeThreadAllocator> {
  const program = { what: "the native threads program", sourcePath: THREADS_SOURCE, prefix: "threads", columns: "glibc or mimalloc" };
  return buildNativeVariants(env, program, NATIVE_THREAD_ALLOCATORS.map((allocator) => ({ key: allocator, flags: BUILDS[allocator].flags, libraries: BUILDS[allocator].libraries, columns: allocator })));
}

/**
 * The program's arguments for `shape` with `threads` threads.
 * @throws Error for a churn that does not say how it was drawn (made without @tsmalloc/trace's churn())
 */
export function threadProgramArguments(allocator: NativeThreadAllocator, shape: ThreadShape, threads: number): string[] {
  const head = ["--allocator", BUILDS[allocator].allocator, "--threads", String(threads)];
  if (shape.kind === "churn") {
    const { churn } = shape;
    if (churn.draw === undefined) throw new Error(`the churn "${churn.name}" does not say how it was drawn, so the native program cannot draw it`);
    const { minSize, maxSize, seed } = churn.draw;
    return [...head, "--churn", [minSize, maxSize, churn.live, churn.pairs, seed].join(","), "--churn-hash", String(churnHash(churn))];
  }
  if (shape.kind === "remote free") return [...head, "--remote-free", [shape.blocks, shape.rounds, shape.minSize, shape.maxSize].join(",")];
  return [...head, "--pipeline", [shape.blocks, shape.minSize, shape.maxSize].join(",")];
}

/** What the program prints (the fields of every shape; each shape has its own). */
interface ThreadProgramOutput {
  readonly workload: string;
  readonly units: number;
  readonly failures: number;
  readonly ns?: number;
  readonly busyNs?: number;
  readonly remoteNs?: number;
  readonly localNs?: number;
}

/** A figure the program printed, checked. @throws Error when it is not a finite non-negative number */
function figureOf(output: ThreadProgramOutput, field: keyof ThreadProgramOutput): number {
  const value = output[field];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new Error(`its "${field}" is ${JSON.stringify(value)}`);
  return value;
}

/**
 * The program's JSON line as a run's outcome for `shape` with `threads` threads.
 * @throws Error when the line is not the program's output for that shape (the message says what is wrong)
 */
export function threadProgramOutcome(stdout: string, shape: ThreadShape, threads: number): ThreadRunOutcome {
  const output = lastJsonLine(stdout) as ThreadProgramOutput;
  if (output.workload !== shape.kind) throw new Error(`it ran "${String(output.workload)}", not "${shape.kind}"`);
  const units = shape.kind === "churn" ? shape.churn.pairs * threads : shape.blocks;
  if (output.units !== units) throw new Error(`it did ${String(output.units)} units, not the ${units} of the case`);
  const failures = figureOf(output, "failures");
  if (shape.kind === "churn") return { ns: figureOf(output, "ns"), local: null, failures };
  if (shape.kind === "pipeline") return { ns: figureOf(output, "ns"), local: figureOf(output, "busyNs"), failures };
  return { ns: figureOf(output, "remoteNs"), local: figureOf(output, "localNs"), failures };
}

/**
 * The runner of the native columns over the programs `paths` has: one run of the program per run,
 * stopped after the budget. A column whose program is missing fails, saying so. Never rejects:
 * whatever goes wrong is the cell's error (the program's own one-line message first).
 */
export function nativeThreadRunner(paths: ReadonlyMap<NativeThreadAllocator, string>): NativeThreadRunner {
  return async (shape, allocator, threads, budgetMs) => {
    const binary = paths.get(allocator);
    if (binary === undefined) return { error: `no ${allocator} build of the native threads program` };
    let args: string[];
    try {
      args = threadProgramArguments(allocator, shape, threads);
    } catch (error) {
      return { error: messageOf(error) };
    }
    const run = await runNativeProgram("the native threads program", binary, args, budgetMs, (stdout) => threadProgramOutcome(stdout, shape, threads));
    if (run === "over budget") return run;
    return run.ok ? run.value : { error: run.error };
  };
}
