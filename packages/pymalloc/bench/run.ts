/*
 * `pnpm bench` for @tsmalloc/pymalloc: the small churn (8..512 B, 10,000 live blocks) and full
 * replays of the bundled traces, pymalloc beside Malloc alone, @thi.ng/malloc and
 * `new Uint8Array`. Every run is a fresh worker; runs alternate between contenders; the table
 * shows medians and ratios to the first column. Then the memory pymalloc + malloc hold at the
 * py_compileall trace's peak, against the trace's peak live bytes.
 *
 *   pnpm bench                    5 runs per cell
 *   pnpm bench -- --runs 9        more runs
 *   pnpm bench -- --quick         1 run, smaller workloads (a smoke test of the harness)
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { type BenchCase, bundledTracePath, churn, formatBenchTable, loadTrace, runBenchmarks, smallChurn, parseBenchArgs } from "@tsmalloc/testkit";
import { peakFootprint } from "./footprint.ts";

const { runs, quick, budgetSeconds } = parseBenchArgs();
const contenders = ["tsmalloc pymalloc", "pymalloc, checks off", "pymalloc, shared", "tsmalloc malloc", "@thi.ng/malloc MemPool", "new Uint8Array"];
const python = loadTrace(bundledTracePath("py_compileall"), quick ? 100_000 : Infinity);
const cases: BenchCase[] = [
  { name: "churn 8..512 B, 10,000 live", workload: { kind: "churn", churn: smallChurn(quick ? 20_000 : 2_000_000) } },
  // the same sizes with few enough live blocks (~260 KB) to stay in the CPU's caches
  { name: "churn 8..512 B, 1,000 live", workload: { kind: "churn", churn: churn("churn 8..512 B, 1k live", 8, 512, 1_000, quick ? 20_000 : 2_000_000, 7) } },
  { name: `replay py_compileall (${(python.length / 1e6).toFixed(2)} M events)`, workload: { kind: "replay", trace: python } },
  { name: "replay gcc_cc1_wrapt", workload: { kind: "replay", trace: loadTrace(bundledTracePath("gcc_cc1_wrapt"), quick ? 100_000 : Infinity) } },
];
const started = Date.now();
const cells = await runBenchmarks(cases, {
  module: new URL("./contenders.ts", import.meta.url),
  contenders,
  runs,
  budgetMs: budgetSeconds * 1000,
  progress: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`\n${formatBenchTable(cells, cases, contenders)}\n\n`);

// memory held at the trace's peak: what the allocators mapped from the memory, vs live bytes
const memory = new LinearMemory();
const raw = new Malloc(memory);
const footprint = peakFootprint(python, new Pymalloc(raw), () => memory.stats().mappedBytes - memory.headerBytes);
const malloc = new LinearMemory();
const alone = peakFootprint(python, new Malloc(malloc), () => malloc.stats().mappedBytes - malloc.headerBytes);
const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
process.stdout.write(`py_compileall peak live bytes ${mib(footprint.peakLive)}: pymalloc + malloc hold ${mib(footprint.mappedAtPeak)} (${(footprint.mappedAtPeak / footprint.peakLive).toFixed(2)}x); malloc alone ${mib(alone.mappedAtPeak)} (${(alone.mappedAtPeak / alone.peakLive).toFixed(2)}x)\n`);
process.stdout.write(`median of ${runs} run(s) per cell, each in a fresh worker, contenders alternating; ratios to the first column; budget ${budgetSeconds} s per run; ${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version}\n`);
