/*
 * What `tsmalloc replay` prints: a summary of the replay, as text (label / value lines) or as one
 * JSON object with the same figures. The trace's figures are the replay's (outcome.profile): a
 * request that returned NULL is not a live block.
 */
import { formatCount, formatCounted, formatExactBytes, formatMilliseconds, formatNanoseconds, formatRatio } from "@tsmalloc/trace";
import { fields, roundTo } from "./format.ts";
import type { LoadedTrace } from "./load.ts";
import type { ReplayOutcome, ReplaySettings } from "./replay-run.ts";

/**
 * The footprint at the peak over the live bytes at the peak (the allocators' overhead); null when
 * nothing is live at the peak (a trace of zero-size blocks, or of requests that all returned NULL).
 */
export function footprintRatio(outcome: ReplayOutcome): number | null {
  return outcome.profile.peakLiveBytes === 0 ? null : outcome.atPeak.footprint / outcome.profile.peakLiveBytes;
}

/**
 * The memory's high-water mark (its size at the end: linear memory never shrinks) over the live
 * bytes at the peak; null when nothing is live at the peak.
 */
export function highWaterRatio(outcome: ReplayOutcome): number | null {
  return outcome.profile.peakLiveBytes === 0 ? null : outcome.atEnd.memoryBytes / outcome.profile.peakLiveBytes;
}

/** The configuration's name as the summary shows it, with what `allocatorName()` says. */
export function configurationLabel(settings: ReplaySettings, outcome: ReplayOutcome): string {
  if (settings.module !== null) return `"${settings.config}" with MEM served by ${settings.module.path}`;
  return `"${settings.config}" (allocatorName() = ${outcome.allocatorName})`;
}

/**
 * The summary as label / value lines. `time: false` leaves the time out (the demo times the
 * configurations side by side instead, in fresh workers).
 */
export function formatSummary(loaded: LoadedTrace, settings: ReplaySettings, outcome: ReplayOutcome, { time = true }: { readonly time?: boolean } = {}): string {
  const peak = outcome.atPeak;
  const profile = outcome.profile;
  const entries: [string, string][] = [];
  if (time) {
    const runs = settings.runs === 1 ? "1 run" : `median of ${settings.runs} runs in this process, each on a fresh runtime`;
    const checks = settings.verify ? ", fills and checks included" : "";
    entries.push(["time", `${formatNanoseconds(outcome.nsPerEvent)} ns/event (${formatMilliseconds(outcome.replayMs)} ms; ${runs}${checks}; reading took ${formatMilliseconds(loaded.parseMs)} ms, not counted)`]);
  }
  entries.push(
    ["peak live bytes", `${formatExactBytes(profile.peakLiveBytes)} in ${formatCounted(profile.blocksAtPeak, "block")}, after event ${formatCount(profile.peakEvent)}`],
    ["footprint at peak", `${formatExactBytes(peak.footprint)} mapped: ${formatRatio(footprintRatio(outcome))} the live bytes`],
    ["memory high-water", `${formatExactBytes(outcome.atEnd.memoryBytes)}: ${formatRatio(highWaterRatio(outcome))} the live bytes (the memory's size, header included; it never shrinks)`],
  );
  if (peak.pymallocArenas !== null && outcome.arenas !== null) {
    const a = outcome.arenas;
    entries.push(["pymalloc at peak", `${formatCounted(peak.pymallocArenas, "arena")}, ${formatCounted(peak.pymallocPools ?? 0, "pool")} in use`]);
    entries.push(["pymalloc arenas", `${formatCount(a.highwater)} at most, ${formatCount(a.allocated)} allocated in all, ${formatCount(a.reclaimed)} given back`]);
  } else {
    entries.push(["pymalloc", "not in this configuration"]);
  }
  entries.push(["malloc at peak", `${formatCounted(peak.mallocSegments, "segment")}, ${formatCounted(peak.mallocLargeBlocks, "large block")}: ${formatExactBytes(peak.mallocMappedBytes)}`]);
  entries.push(["at the end", `${formatCounted(profile.liveAtEndBlocks, "block")} never freed, ${formatExactBytes(profile.liveAtEndBytes)}; footprint ${formatExactBytes(outcome.atEnd.footprint)}`]);
  entries.push(["NULL returns", outcome.failures === 0 ? "0" : `${formatCount(outcome.failures)} (${nullEvents(outcome.failedEvents)}): not live blocks`]);
  entries.push([
    "verified",
    settings.verify
      ? `yes: every block's bytes checked before its free or realloc and at the end, calloc zeroes, alignment to 16; heaps checked`
      : "no (--verify checks every block)",
  ]);
  const title = `${loaded.trace.name}: ${formatCounted(loaded.trace.length, "event")} replayed through MEM under ${configurationLabel(settings, outcome)}`;
  return `${title}\n${fields(entries)}\n`;
}

/**
 * What to say after the statistics' heading: the table's arena counters stop where it was taken,
 * so at the peak its `# arenas reclaimed` leaves out the arenas given back after it, which the
 * summary's "given back" counts: "" when there are none.
 */
export function statisticsNote(outcome: ReplayOutcome): string {
  const total = outcome.arenas?.reclaimed ?? 0;
  const inTable = outcome.statistics.pymalloc?.arenasReclaimed ?? 0;
  if (total === inTable) return "";
  const later = total - inTable;
  return `The table's counters stop at the point it was taken: its "# arenas reclaimed = ${formatCount(inTable)}" leaves out the ${later === 1 ? "arena" : `${formatCount(later)} arenas`} given back after it, which the summary's "${formatCount(total)} given back" counts.`;
}

/** The events whose request returned NULL, the first three of them: `event 1`, `events 4, 9, 12 and 3 more`. */
function nullEvents(events: readonly number[]): string {
  const shown = events.slice(0, 3).map(formatCount).join(", ");
  const more = events.length > 3 ? ` and ${formatCount(events.length - 3)} more` : "";
  return `${events.length === 1 ? "event" : "events"} ${shown}${more}`;
}

/**
 * The summary as a JSON-ready object (events numbered from 1, as everywhere; the fields and their
 * units are listed in the README): times in the unit their name ends with, rounded to 0.1;
 * byte counts exact; the ratio to 3 decimals.
 */
export function summaryJson(loaded: LoadedTrace, settings: ReplaySettings, outcome: ReplayOutcome, withStatistics: boolean): Record<string, unknown> {
  const profile = outcome.profile;
  return {
    trace: loaded.trace.name,
    path: loaded.path,
    events: loaded.trace.length,
    allocator: settings.config,
    allocatorName: outcome.allocatorName,
    module: settings.module?.path ?? null,
    verified: settings.verify,
    nsPerEvent: roundTo(outcome.nsPerEvent, 1),
    runsNsPerEvent: outcome.runs.map((ns) => roundTo(ns, 1)),
    replayMs: roundTo(outcome.replayMs, 1),
    parseMs: roundTo(loaded.parseMs, 1),
    peakLiveBytes: profile.peakLiveBytes,
    peakEvent: profile.peakEvent,
    blocksAtPeak: profile.blocksAtPeak,
    peakLiveBlocks: profile.peakLiveBlocks,
    footprintAtPeak: outcome.atPeak.footprint,
    footprintRatio: roundTo(footprintRatio(outcome), 3),
    memoryHighWater: outcome.atEnd.memoryBytes,
    highWaterRatio: roundTo(highWaterRatio(outcome), 3),
    atPeak: outcome.atPeak,
    atEnd: outcome.atEnd,
    arenas: outcome.arenas,
    liveAtEndBlocks: profile.liveAtEndBlocks,
    liveAtEndBytes: profile.liveAtEndBytes,
    failures: outcome.failures,
    failedEvents: outcome.failedEvents,
    ...(withStatistics ? { statisticsAt: settings.statsAt, statistics: statisticsJson(outcome) } : {}),
  };
}

/** The statistics as a JSON-ready object: the numbers, and the text. */
export function statisticsJson(outcome: ReplayOutcome): Record<string, unknown> {
  const { pymalloc, malloc, text } = outcome.statistics;
  return { pymalloc, malloc, text };
}
