/*
 * `pnpm bench` for @tsmalloc/wasm: the same C programs with wasi-libc's dlmalloc inside the
 * module, and on tsmalloc through imports (`default`: pymalloc over malloc; `malloc`; and
 * `pymalloc_debug`, the price of CPython's debug hooks), side by side; then what one call across
 * the boundary costs. Every run is a fresh worker; runs alternate between contenders, one round
 * of each after the other; cells are medians, and each ratio is the median over the rounds of the
 * contender's time over the module's own dlmalloc's in the same round (on a shared machine the
 * load drifts between rounds more than within one). Times are the process's CPU time (user and
 * system) during the timed part of a run: on a quiet machine the wall time, on a shared one the
 * run's own work without the time the scheduler gave to others.
 *
 *   pnpm bench                    5 runs per cell (a few minutes)
 *   pnpm bench --runs 9           more runs
 *   pnpm bench --quick            1 run, small workloads (a smoke test)
 */
import { cpus, loadavg } from "node:os";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Domain } from "@tsmalloc/registry";
import { firstMessage, median, parseBenchArgs, startWorker } from "@tsmalloc/testkit";
import { instantiate } from "../src/index.ts";
import { ensureBuilt, exampleModule, type ExampleName } from "../tools/examples.ts";
import type { CallsJob, Contender, Job, JobReply, ProgramJob } from "./jobs.ts";
import { countingHook } from "../tools/counting.ts";

const { runs, quick } = parseBenchArgs();
const started = Date.now();
const progress = (line: string): void => void process.stderr.write(`${line}\n`);
const loadBefore = loadavg();

interface ProgramCase {
  readonly name: string;
  readonly example: ExampleName;
  readonly args: readonly string[];
  readonly warmArgs: readonly string[];
}

const programs: readonly ProgramCase[] = [
  { name: quick ? "binary-trees 12" : "binary-trees 16", example: "binary-trees", args: [quick ? "12" : "16"], warmArgs: ["10"] },
  { name: quick ? "json-tree 500 × 4" : "json-tree 2000 × 25", example: "json-tree", args: quick ? ["500", "4"] : ["2000", "25"], warmArgs: ["200", "2"] },
];
const contenders: readonly Contender[] = ["dlmalloc", "default", "malloc", "pymalloc_debug"];

const calls = {
  tsmalloc: ensureBuilt(fileURLToPath(new URL("calls.c", import.meta.url)), fileURLToPath(new URL("../dist/bench/calls.wasm", import.meta.url)), true, ["-mexec-model=reactor"]),
  dlmalloc: ensureBuilt(fileURLToPath(new URL("calls.c", import.meta.url)), fileURLToPath(new URL("../dist/bench/calls.dlmalloc.wasm", import.meta.url)), false, ["-mexec-model=reactor"]),
};

const WORKER = new URL("./worker.ts", import.meta.url);

async function runInWorker(job: Job): Promise<number> {
  const worker = startWorker(WORKER, job);
  try {
    const reply = await firstMessage<JobReply>(worker);
    if (!reply.ok) throw new Error(reply.error);
    return reply.value!;
  } finally {
    await worker.terminate();
  }
}

/** Runs every job `runs` times, the jobs taking turns; the values of each job. */
async function alternate(jobs: readonly { readonly label: string; readonly job: Job }[]): Promise<number[][]> {
  const values = jobs.map((): number[] => []);
  for (let run = 0; run < runs; run++) {
    for (const [i, { label, job }] of jobs.entries()) {
      const value = await runInWorker(job);
      values[i]!.push(value);
      progress(`${label} | run ${run + 1}/${runs}: ${value.toFixed(value >= 100 ? 0 : 2)}`);
    }
  }
  return values;
}

/** The allocation calls a program makes through the imports (counted once, untimed). */
async function countCalls(module: string, args: readonly string[]): Promise<number> {
  const instance = await instantiate(readFileSync(module), { allocator: "default", wasi: { host: "minimal", args: ["program", ...args], stdout: () => {}, stderr: () => {} } });
  const hook = countingHook(instance.runtime.getAllocator(Domain.MEM));
  instance.runtime.setAllocator(Domain.MEM, hook);
  instance.start();
  return hook.calls;
}

function shown(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(value >= 10 ? 1 : 2);
}

/** The median of the round-by-round ratios of `values` to `base`. */
function ratio(values: readonly number[], base: readonly number[]): number {
  return median(values.map((v, i) => v / base[i]!))!;
}

// ---- the programs ----------------------------------------------------------------------------

const programJobs = programs.flatMap((program) =>
  contenders.map((contender) => {
    const modules = { tsmalloc: exampleModule(program.example), dlmalloc: exampleModule(program.example, "dlmalloc") };
    const job: ProgramJob = { kind: "program", modules, contender, args: program.args, warmArgs: program.warmArgs };
    return { label: `${program.name} | ${contender}`, job };
  }),
);
const programTimes = await alternate(programJobs);
const lines: string[] = [];
lines.push(`| program | allocation calls | ${contenders.map((c) => (c === "dlmalloc" ? "dlmalloc in the module" : `tsmalloc ${c}`)).join(" | ")} | ${contenders.slice(1).map((c) => `added per call, ${c}`).join(" | ")} |`);
lines.push(`|---|---:|${contenders.map(() => "---:").join("|")}|${contenders.slice(1).map(() => "---:").join("|")}|`);
for (const [p, program] of programs.entries()) {
  const times = contenders.map((_, c) => programTimes[p * contenders.length + c]!);
  const medians = times.map((t) => median(t)!);
  const count = await countCalls(exampleModule(program.example), program.args);
  const base = medians[0]!;
  const cells = medians.map((m, c) => (c === 0 ? `${shown(m)} ms` : `${shown(m)} ms (${ratio(times[c]!, times[0]!).toFixed(2)}×)`));
  const added = medians.slice(1).map((m) => `${(((m - base) * 1e6) / count).toFixed(1)} ns`);
  lines.push(`| ${program.name} | ${count.toLocaleString("en-US")} | ${cells.join(" | ")} | ${added.join(" | ")} |`);
}

// ---- one call across the boundary ------------------------------------------------------------

const iterations = quick ? 2_000_000 : 20_000_000;
const tracedIterations = quick ? 20_000 : 200_000;
const probes: readonly { readonly label: string; readonly job: CallsJob }[] = [
  { label: "a call to an empty import (wasm → JavaScript)", job: { kind: "calls", modules: calls, probe: "import", contender: "default", iterations, size: 16 } },
  { label: "a call to a function in the module (wasm → wasm, not inlined)", job: { kind: "calls", modules: calls, probe: "local", contender: "dlmalloc", iterations, size: 16 } },
  { label: "malloc + free of 16 B: dlmalloc in the module", job: { kind: "calls", modules: calls, probe: "pairs", contender: "dlmalloc", iterations, size: 16 } },
  { label: "malloc + free of 16 B: a bare free list in JavaScript through imports (the boundary alone)", job: { kind: "calls", modules: calls, probe: "pairs", contender: "freelist", iterations, size: 16 } },
  { label: "malloc + free of 16 B: tsmalloc default through imports", job: { kind: "calls", modules: calls, probe: "pairs", contender: "default", iterations, size: 16 } },
  { label: "malloc + free of 16 B: tsmalloc default, imports without `>>> 0`", job: { kind: "calls", modules: calls, probe: "pairs", contender: "no-conversion", iterations, size: 16 } },
  { label: "malloc + free of 16 B: tsmalloc default, imports calling pymalloc itself (no domain dispatch)", job: { kind: "calls", modules: calls, probe: "pairs", contender: "no-dispatch", iterations, size: 16 } },
  { label: "malloc + free of 16 B: tsmalloc default called from JavaScript", job: { kind: "calls", modules: calls, probe: "pairs", contender: "js", iterations, size: 16 } },
  { label: "malloc + free of 16 B: tsmalloc malloc through imports", job: { kind: "calls", modules: calls, probe: "pairs", contender: "malloc", iterations, size: 16 } },
  // tracing captures a stack per malloc: far fewer iterations
  { label: "malloc + free of 16 B: tsmalloc default through imports, tracemalloc 1 frame (the C function)", job: { kind: "calls", modules: calls, probe: "pairs", contender: "traced", iterations: tracedIterations, size: 16 } },
  { label: "malloc + free of 16 B: tsmalloc default called from JavaScript, tracemalloc 1 frame", job: { kind: "calls", modules: calls, probe: "pairs", contender: "js-traced", iterations: tracedIterations, size: 16 } },
];
const probeTimes = await alternate(probes);
lines.push("", "| one call | ns |", "|---|---:|");
for (const [i, probe] of probes.entries()) lines.push(`| ${probe.label} | ${shown(median(probeTimes[i]!)!)} |`);

const loadAfter = loadavg();
process.stdout.write(`\n${lines.join("\n")}\n\n`);
process.stdout.write(
  `CPU time; median of ${runs} run(s) per cell, each in a fresh worker, contenders alternating; ${((Date.now() - started) / 1000).toFixed(0)} s in all; ` +
    `node ${process.version}, ${cpus().length} CPUs; load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after\n`,
);
