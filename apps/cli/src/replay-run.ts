/*
 * One replay of a trace through a runtime's MEM domain, and what it shows:
 *
 *   events  1 ............ peak | peak+1 ............................. n
 *           |--- timed ---------|  look at the heap  |------ timed ---|  look again
 *
 * The trace's live bytes peak after event `peak` (worked out from the events alone), so the
 * replay runs in two timed pieces with an untimed look at the heap in between: the footprint
 * there is what the allocators needed to hold the program's peak. With --verify the replay fills
 * and checks every block instead (@tsmalloc/trace's replayVerified), and the heaps are checked at
 * the end.
 *
 * A request the allocator refuses (NULL) is not a live block. The first replay tells which
 * events those are; the figures are then worked out again without them, and when that moves the
 * peak, the next replay (or one more, untimed) looks at the heap at the new peak. The allocators
 * are deterministic, so every replay on a fresh runtime refuses the same requests.
 */
import { LinearMemory } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import {
  domainTarget,
  formatBytes,
  formatCount,
  formatCounted,
  formatExactBytes,
  ReplayMismatch,
  replayVerified,
  TimedReplay,
  type Trace,
  traceLine,
  type TraceProfile,
  traceProfile,
} from "@tsmalloc/trace";
import { median } from "@tsmalloc/trace/bench";
import { type AllocatorModule, installAllocatorModule } from "./allocator-module.ts";
import { CliError, ExitCode } from "./errors.ts";
import { MEM_ALIGNMENT } from "./load.ts";

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
  /**
   * The memory's size (`byteLength`, its header included): what it holds, mapped or not. Linear
   * memory never shrinks, so at the end of the replay this is its high-water mark: what a user pays.
   */
  readonly memoryBytes: number;
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
  /** ns per event of every timed run. */
  readonly runs: readonly number[];
  readonly nsPerEvent: number;
  readonly replayMs: number;
  /**
   * The trace's figures as the replay held them: the trace's profile, worked out again without
   * the requests that returned NULL (the same as the events' own profile when none did).
   */
  readonly profile: TraceProfile;
  /** What `allocatorName()` says after the setup (null for a `--module` allocator). */
  readonly allocatorName: string | null;
  /** The heaps after event `profile.peakEvent`, and after the last one. */
  readonly atPeak: HeapFigures;
  readonly atEnd: HeapFigures;
  readonly arenas: ArenaTotals | null;
  /** Requests that returned NULL, and their events (from 1). */
  readonly failures: number;
  readonly failedEvents: readonly number[];
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

/** One replay's findings. */
type Run = Omit<ReplayOutcome, "runs" | "nsPerEvent" | "replayMs" | "profile" | "failures"> & { readonly ms: number };

/**
 * Replays `trace` `settings.runs` times, each on a fresh runtime over a fresh memory; `profile`
 * is the trace's own (`traceProfile(trace)`), which says where the peak is.
 * @throws CliError with exit code 1 when the replay goes wrong (a block's contents or alignment,
 *   the allocator threw, the heaps fail their check); exit code 2 when a `--module` is refused
 */
export function replayTrace(trace: Trace, profile: TraceProfile, settings: ReplaySettings): ReplayOutcome {
  const runs: number[] = [];
  const times: number[] = [];
  let held = profile;
  let last: Run | null = null;
  for (let run = 0; run < settings.runs; run++) {
    last = replayOnce(trace, held.peakEvent, settings);
    times.push(last.ms);
    runs.push((last.ms * 1e6) / trace.length);
    if (run === 0 && last.failedEvents.length > 0) held = traceProfile(trace, { failed: last.failedEvents });
  }
  // the NULLs moved the peak after the last run had looked: one more replay, untimed, to look there
  if (held.peakEvent !== profile.peakEvent && settings.runs === 1) last = replayOnce(trace, held.peakEvent, settings);
  const { ms: _ms, ...outcome } = last!;
  return { runs, nsPerEvent: median(runs)!, replayMs: median(times)!, profile: held, failures: outcome.failedEvents.length, ...outcome };
}

/** One replay on a fresh runtime, with a look at the heaps after event `lookAfter`. */
function replayOnce(trace: Trace, lookAfter: number, settings: ReplaySettings): Run {
  const memory = new LinearMemory();
  const baseline = memory.stats().mappedBytes;
  const runtime = createRuntime({ memory, allocator: settings.config });
  if (settings.module !== null) installAllocatorModule(settings.module, runtime);
  const allocatorName = runtime.allocatorName();
  const target = domainTarget(runtime, Domain.MEM, { alignment: MEM_ALIGNMENT });
  let atPeak: HeapFigures | null = null;
  let statistics: Statistics | null = null;
  const look = (): void => {
    const state = heapState(runtime, baseline);
    atPeak = state.figures;
    if (settings.statsAt === "peak") statistics = statisticsOf(runtime, state);
  };
  let ms: number;
  let failedEvents: readonly number[];
  try {
    if (settings.verify) {
      const started = performance.now();
      const result = replayVerified(trace, target, { probeAfter: lookAfter, probe: look, alignment: MEM_ALIGNMENT });
      ms = performance.now() - started;
      failedEvents = result.failedEvents;
    } else {
      const replay = new TimedReplay(trace, target);
      const t0 = performance.now();
      replay.run(lookAfter);
      const t1 = performance.now();
      look();
      const t2 = performance.now();
      replay.run();
      ms = t1 - t0 + (performance.now() - t2);
      failedEvents = replay.failedEvents;
    }
  } catch (error) {
    if (error instanceof ReplayMismatch) throw replayFailure(trace, error);
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
    failedEvents,
    statistics: statistics ?? statisticsOf(runtime, end),
  };
}

/**
 * The replay's fault as the command reports it: the event (from 1) and its line in the file, the
 * reason's first line, and the debug hooks' report (`DebugCorruptionError#report`, CPython's dump
 * of the block) below it when the allocator threw one.
 */
function replayFailure(trace: Trace, error: ReplayMismatch): CliError {
  const where = error.atEnd ? `after event ${formatCount(error.event)}, the last` : `at event ${formatCount(error.event)} (line ${formatCount(traceLine(trace, error.event))} of ${trace.name})`;
  const report = (error.cause as { report?: unknown } | null | undefined)?.report;
  return new CliError(`replay failed ${where}: ${error.reason.split("\n", 1)[0]}`, ExitCode.ReplayFailed, { cause: error, details: typeof report === "string" ? `\n${report}` : "" });
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
  const memory = runtime.memory.stats();
  const figures: HeapFigures = {
    footprint: memory.mappedBytes - baseline,
    memoryBytes: memory.byteLength,
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
    `  ${formatCounted(m.allocatedBlocks, "block")} in use, ${formatExactBytes(m.allocatedBytes)} usable`,
    `  ${formatCounted(m.segments, "segment")} of ${formatBytes(m.segmentBytes)} in all: ${formatCounted(m.freeBlocks, "free block")}, ${formatExactBytes(m.freeBytes)} free, the largest ${formatExactBytes(m.largestFreeBlock)}`,
    `  ${formatCounted(m.largeBlocks, "large block")} in regions of their own, ${formatExactBytes(m.largeBytes)}`,
    `  ${formatExactBytes(m.mappedBytes)} mapped, ${formatCount(m.overheadBytes)} B of them headers and rounding`,
  ];
  return { text: `${lines.join("\n")}\n`, pymalloc: state.pymalloc, malloc: m };
}
