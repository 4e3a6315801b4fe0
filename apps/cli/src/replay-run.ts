/*
 * One replay of a trace through a runtime's MEM domain, and what it shows:
 *
 *   events  0 ............ peakEvent ............................. n-1
 *           |--- timed ---|  look at the heap  |------ timed ------|  look again
 *
 * The trace's live bytes peak after event `peakEvent` (worked out from the events alone), so the
 * replay runs in two timed pieces with an untimed look at the heap in between: the footprint
 * there is what the allocators needed to hold the program's peak. With --verify the replay fills
 * and checks every block instead (testkit's replayVerified), and the heaps are checked at the end.
 */
import { LinearMemory } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, type Runtime } from "@tsmalloc/registry";
import { median, ReplayMismatch, replayTimed, replayVerified, type Trace, type TraceProfile } from "@tsmalloc/testkit";
import { type AllocatorModule, installAllocatorModule } from "./allocator-module.ts";
import { CliError, ExitCode } from "./errors.ts";
import { bytes, count, counted, exactBytes } from "./format.ts";
import { MEM_ALIGNMENT, MemDomainTarget } from "./mem-domain-target.ts";

/** When the statistics are taken. */
export type StatsPoint = "end" | "peak";

/** How to replay. */
export interface ReplaySettings {
  readonly config: AllocatorConfig;
  /** An allocator of the user's to serve MEM instead of the configuration's. */
  readonly module: AllocatorModule | null;
  readonly verify: boolean;
  /** Replays, each on a fresh runtime; the time reported is their median. */
  readonly runs: number;
  /** When to take the statistics text. */
  readonly statsAt: StatsPoint;
}

/** The heaps at one moment. */
export interface HeapFigures {
  /** Bytes the allocators have mapped from the memory (the memory's own header not counted). */
  readonly footprint: number;
  /** The system malloc's segments and large-block regions. */
  readonly mallocMappedBytes: number;
  readonly mallocSegments: number;
  readonly mallocLargeBlocks: number;
  /** pymalloc's arenas held and pools in use; null when the configuration has no pymalloc. */
  readonly pymallocArenas: number | null;
  readonly pymallocPools: number | null;
}

/** pymalloc's arena counters over the whole replay. */
export interface ArenaTotals {
  readonly highwater: number;
  readonly allocated: number;
  readonly reclaimed: number;
}

/** What one replay (or the median of several) found. */
export interface ReplayOutcome {
  /** ns per event of every run. */
  readonly runs: readonly number[];
  readonly nsPerEvent: number;
  readonly replayMs: number;
  /** What `allocatorName()` says after the setup (null for a `--module` allocator). */
  readonly allocatorName: string | null;
  readonly atPeak: HeapFigures;
  readonly atEnd: HeapFigures;
  readonly arenas: ArenaTotals | null;
  /** Requests that returned NULL. */
  readonly failures: number;
  /** The statistics, taken where `statsAt` says. */
  readonly statistics: Statistics;
}

/** pymalloc's statistics and the system malloc's, as numbers and as the text the command prints. */
export interface Statistics {
  /** pymalloc's table (`sys._debugmallocstats()`), then the system malloc's figures. */
  readonly text: string;
  /** null when the configuration has no pymalloc. */
  readonly pymalloc: ReturnType<NonNullable<Runtime["pymallocHeap"]>["stats"]> | null;
  readonly malloc: ReturnType<Runtime["mallocHeap"]["stats"]>;
}

/**
 * Replays `trace` `settings.runs` times, each on a fresh runtime over a fresh memory.
 * @throws CliError with exit code 1 when the replay goes wrong (a block's contents or alignment,
 *   the allocator threw, the heaps fail their check); exit code 2 when a `--module` is refused
 */
export function replayTrace(trace: Trace, profile: TraceProfile, settings: ReplaySettings): ReplayOutcome {
  const runs: number[] = [];
  const times: number[] = [];
  let last: Omit<ReplayOutcome, "runs" | "nsPerEvent" | "replayMs"> | null = null;
  for (let run = 0; run < settings.runs; run++) {
    const { ms, ...outcome } = replayOnce(trace, profile, settings);
    times.push(ms);
    runs.push((ms * 1e6) / trace.length);
    last = outcome;
  }
  return { runs, nsPerEvent: median(runs)!, replayMs: median(times)!, ...last! };
}

function replayOnce(trace: Trace, profile: TraceProfile, settings: ReplaySettings): Omit<ReplayOutcome, "runs" | "nsPerEvent" | "replayMs"> & { ms: number } {
  const memory = new LinearMemory();
  const baseline = memory.stats().mappedBytes;
  const runtime = createRuntime({ memory, allocator: settings.config });
  if (settings.module !== null) installAllocatorModule(settings.module, runtime);
  const allocatorName = runtime.allocatorName();
  const target = new MemDomainTarget(runtime);
  const peak = profile.peakEvent;
  let atPeak: HeapFigures | null = null;
  let statistics: Statistics | null = null;
  const look = (): void => {
    const state = heapState(runtime, baseline);
    atPeak = state.figures;
    if (settings.statsAt === "peak") statistics = statisticsOf(runtime, state);
  };
  let ms: number;
  let failures: number;
  try {
    if (settings.verify) {
      const started = performance.now();
      const result = replayVerified(trace, target, { probeAt: peak, probe: look, alignment: MEM_ALIGNMENT });
      ms = performance.now() - started;
      failures = result.failures;
    } else {
      const address = new Float64Array(trace.ids);
      const t0 = performance.now();
      failures = replayTimed(trace, target, address, peak + 1, 0);
      const t1 = performance.now();
      look();
      const t2 = performance.now();
      failures += replayTimed(trace, target, address, trace.length, peak + 1);
      ms = t1 - t0 + (performance.now() - t2);
    }
  } catch (error) {
    if (error instanceof ReplayMismatch) {
      const headline = `replay failed at event ${count(error.event)} (line ${count(error.event + 1)} of ${trace.name}): ${error.reason.split("\n", 1)[0]}`;
      throw new CliError(headline, ExitCode.ReplayFailed, { cause: error, details: reportOf(error.cause) });
    }
    throw error;
  }
  if (settings.verify) {
    const check = runtime.check();
    if (!check.ok) {
      const problems = check.problems.map((p) => p.message);
      throw new CliError(`the heaps failed their check after the replay: ${problems.slice(0, 3).join("; ")}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ""}`, ExitCode.ReplayFailed);
    }
  }
  const end = heapState(runtime, baseline);
  const pymalloc = end.pymalloc;
  return {
    ms,
    allocatorName,
    // (set by look(), which the replay always calls: the peak is one of the trace's events)
    atPeak: atPeak ?? end.figures,
    atEnd: end.figures,
    arenas: pymalloc === null ? null : { highwater: pymalloc.arenasHighwaterMark, allocated: pymalloc.arenasAllocatedTotal, reclaimed: pymalloc.arenasReclaimed },
    failures,
    statistics: statistics ?? statisticsOf(runtime, end),
  };
}

/**
 * The corruption report a debug hook's error carries (`DebugCorruptionError#report`, CPython's
 * dump of the block), to print below the one-line message; "" for any other error.
 */
function reportOf(error: unknown): string {
  const report = (error as { report?: unknown } | null | undefined)?.report;
  return typeof report === "string" ? `\n${report}` : "";
}

/** The heaps at one moment: their statistics (one walk of each) and the figures taken from them. */
interface HeapState {
  readonly figures: HeapFigures;
  readonly malloc: Statistics["malloc"];
  readonly pymalloc: Statistics["pymalloc"];
}

function heapState(runtime: Runtime, baseline: number): HeapState {
  const malloc = runtime.mallocHeap.stats();
  const pymalloc = runtime.pymallocHeap?.stats() ?? null;
  const figures: HeapFigures = {
    footprint: runtime.memory.stats().mappedBytes - baseline,
    mallocMappedBytes: malloc.mappedBytes,
    mallocSegments: malloc.segments,
    mallocLargeBlocks: malloc.largeBlocks,
    pymallocArenas: pymalloc?.arenasAllocatedCurrent ?? null,
    pymallocPools: pymalloc === null ? null : pymalloc.classes.reduce((sum, c) => sum + c.pools, 0),
  };
  return { figures, malloc, pymalloc };
}

/** The statistics text of {@link statisticsOf} for the runtime as it is now (`tsmalloc wasm --stats`). */
export function heapStatistics(runtime: Runtime): string {
  return statisticsOf(runtime, heapState(runtime, 0)).text;
}

/**
 * `sys._debugmallocstats()`'s pymalloc part (when the configuration has pymalloc), then the
 * system malloc's figures (which CPython leaves to the C library).
 */
function statisticsOf(runtime: Runtime, state: HeapState): Statistics {
  const m = state.malloc;
  const pymalloc = runtime.debugMallocStats();
  const lines = [
    pymalloc === "" ? `pymalloc is not in this configuration (${runtime.config}): the system malloc serves every domain.\n` : pymalloc,
    runtime.pymallocHeap === null ? "system malloc (every domain):" : "system malloc (the RAW domain, with pymalloc's requests over 512 bytes):",
    `  ${counted(m.allocatedBlocks, "block")} in use, ${exactBytes(m.allocatedBytes)} usable`,
    `  ${counted(m.segments, "segment")} of ${bytes(m.segmentBytes)} in all: ${counted(m.freeBlocks, "free block")}, ${exactBytes(m.freeBytes)} free, the largest ${exactBytes(m.largestFreeBlock)}`,
    `  ${counted(m.largeBlocks, "large block")} in regions of their own, ${exactBytes(m.largeBytes)}`,
    `  ${exactBytes(m.mappedBytes)} mapped, ${count(m.overheadBytes)} B of them headers and rounding`,
  ];
  return { text: `${lines.join("\n")}\n`, pymalloc: state.pymalloc, malloc: m };
}
