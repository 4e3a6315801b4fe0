/*
 * What `tsmalloc replay` prints: a summary of the replay, as text (label / value lines) or as one
 * JSON object with the same figures.
 */
import type { TraceProfile } from "@tsmalloc/testkit";
import { count, counted, exactBytes, fields, milliseconds, nanoseconds } from "./format.ts";
import type { LoadedTrace } from "./load.ts";
import type { ReplayOutcome, ReplaySettings } from "./replay-run.ts";

/**
 * The footprint at the peak over the live bytes at the peak (the allocators' overhead); null when
 * nothing is live at the peak (a trace of zero-size blocks).
 */
export function footprintRatio(outcome: ReplayOutcome, profile: TraceProfile): number | null {
  return profile.peakLiveBytes === 0 ? null : outcome.atPeak.footprint / profile.peakLiveBytes;
}

/** The ratio as text: `"1.20×"`, or `"-"` when there is none. */
export function ratioText(ratio: number | null): string {
  return ratio === null ? "-" : `${ratio.toFixed(2)}×`;
}

/** The configuration's name as the summary shows it, with what `allocatorName()` says. */
export function configurationLabel(settings: ReplaySettings, outcome: ReplayOutcome): string {
  if (settings.module !== null) return `"${settings.config}" with MEM served by ${settings.module.path}`;
  return `"${settings.config}" (allocatorName() = ${outcome.allocatorName})`;
}

/** The summary as label / value lines. */
export function formatSummary(loaded: LoadedTrace, profile: TraceProfile, settings: ReplaySettings, outcome: ReplayOutcome): string {
  const runs = settings.runs === 1 ? "1 run" : `median of ${settings.runs} runs in this process, each on a fresh runtime`;
  const checks = settings.verify ? ", fills and checks included" : "";
  const peak = outcome.atPeak;
  const entries: [string, string][] = [
    ["time", `${nanoseconds(outcome.nsPerEvent)} ns/event (${milliseconds(outcome.replayMs)} ms; ${runs}${checks}; reading took ${milliseconds(loaded.parseMs)} ms, not counted)`],
    ["peak live bytes", `${exactBytes(profile.peakLiveBytes)} in ${counted(profile.blocksAtPeak, "block")}, after event ${count(profile.peakEvent)}`],
    ["footprint at peak", `${exactBytes(peak.footprint)} mapped: ${ratioText(footprintRatio(outcome, profile))} the live bytes`],
  ];
  if (peak.pymallocArenas !== null && outcome.arenas !== null) {
    const a = outcome.arenas;
    entries.push(["pymalloc at peak", `${counted(peak.pymallocArenas, "arena")}, ${counted(peak.pymallocPools ?? 0, "pool")} in use`]);
    entries.push(["pymalloc arenas", `${count(a.highwater)} at most, ${count(a.allocated)} allocated in all, ${count(a.reclaimed)} given back`]);
  } else {
    entries.push(["pymalloc", "not in this configuration"]);
  }
  entries.push(["malloc at peak", `${counted(peak.mallocSegments, "segment")}, ${counted(peak.mallocLargeBlocks, "large block")}: ${exactBytes(peak.mallocMappedBytes)}`]);
  entries.push(["at the end", `${counted(profile.liveAtEndBlocks, "block")} never freed, ${exactBytes(profile.liveAtEndBytes)}; footprint ${exactBytes(outcome.atEnd.footprint)}`]);
  entries.push(["NULL returns", count(outcome.failures)]);
  entries.push([
    "verified",
    settings.verify
      ? `yes: every block's bytes checked before its free or realloc and at the end, calloc zeroes, alignment to 16; heaps checked`
      : "no (--verify checks every block)",
  ]);
  const title = `${loaded.trace.name}: ${count(loaded.trace.length)} events replayed through MEM under ${configurationLabel(settings, outcome)}`;
  return `${title}\n${fields(entries)}\n`;
}

/** The summary as a JSON-ready object. */
export function summaryJson(loaded: LoadedTrace, profile: TraceProfile, settings: ReplaySettings, outcome: ReplayOutcome, withStatistics: boolean): Record<string, unknown> {
  return {
    trace: loaded.trace.name,
    path: loaded.path,
    events: loaded.trace.length,
    allocator: settings.config,
    allocatorName: outcome.allocatorName,
    module: settings.module?.path ?? null,
    verified: settings.verify,
    nsPerEvent: outcome.nsPerEvent,
    runs: outcome.runs,
    replayMs: outcome.replayMs,
    parseMs: loaded.parseMs,
    peakLiveBytes: profile.peakLiveBytes,
    peakEvent: profile.peakEvent,
    blocksAtPeak: profile.blocksAtPeak,
    peakLiveBlocks: profile.peakLiveBlocks,
    footprintAtPeak: outcome.atPeak.footprint,
    footprintRatio: footprintRatio(outcome, profile),
    atPeak: outcome.atPeak,
    atEnd: outcome.atEnd,
    arenas: outcome.arenas,
    liveAtEndBlocks: profile.liveAtEndBlocks,
    liveAtEndBytes: profile.liveAtEndBytes,
    failures: outcome.failures,
    ...(withStatistics ? { statisticsAt: settings.statsAt, statistics: statisticsJson(outcome) } : {}),
  };
}

/** The statistics as a JSON-ready object: the numbers, and the text. */
export function statisticsJson(outcome: ReplayOutcome): Record<string, unknown> {
  const { pymalloc, malloc, text } = outcome.statistics;
  return { pymalloc, malloc, text };
}
