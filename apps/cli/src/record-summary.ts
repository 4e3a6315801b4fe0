/*
 * What `tsmalloc record` prints on stderr when the program has ended: how it ended, then for the
 * trace it wrote the events, the peak of live bytes, what the normalisations left out or rewrote
 * and why, what was not recorded at all, and the other programs (recorded and written, or not).
 */
import { basename, relative } from "node:path";
import { formatCount, formatCounted, formatExactBytes, formatMilliseconds } from "@tsmalloc/trace";
import { fields } from "./format.ts";
import type { ConvertedRecording } from "./record-convert.ts";
import type { RecordHeader } from "./record-file.ts";

/** A `tsmalloc record` run, as the summary tells it. */
export interface RecordedRun {
  readonly command: readonly string[];
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly exitCode: number;
  /** Milliseconds the program ran, and from its end until the trace files were written. */
  readonly runMs: number;
  readonly convertMs: number;
  /** The trace files written: the first is the main one (`-o FILE`). */
  readonly recordings: readonly { readonly recording: ConvertedRecording; readonly path: string }[];
  /** What the started process was before its last exec (recorded, not written), with its calls. */
  readonly earlier: readonly { readonly header: RecordHeader; readonly records: number }[];
  readonly followForks: boolean;
}

/** Other trace files listed one per line; the rest are counted. */
const LISTED = 8;

/** The summary's text (ends with a newline); paths are shown relative to `cwd` when under it. */
export function formatRecordSummary(run: RecordedRun, cwd: string): string {
  const shown = (path: string): string => {
    const rel = relative(cwd, path);
    return rel.startsWith("..") || rel === "" ? path : rel;
  };
  const [main, ...others] = run.recordings;
  const ended = run.signal !== null ? `was killed by ${run.signal} (exit status ${run.exitCode})` : `exited with status ${run.status}`;
  const lines = [`\ntsmalloc record: ${run.command[0]} ${ended} after ${seconds(run.runMs)}; its trace was written ${seconds(run.convertMs)} later`];
  const { recording, path } = main!;
  const t = recording.tally;
  const c = recording.counts;
  const h = recording.header;
  const entries: [string, string][] = [
    ["trace", `${shown(path)}: ${formatCounted(t.events, "event")} of ${h.exe === "" ? run.command[0] : h.exe} (pid ${h.pid})`],
    ["events", `${formatCount(t.malloc)} a, ${formatCount(t.calloc)} c, ${formatCount(t.realloc)} r, ${formatCount(t.free)} f, ${formatCount(t.memalign)} m`],
    ["peak live bytes", t.peakEvent === 0 ? "0 B (no block)" : `${formatExactBytes(t.peakLiveBytes)} in ${formatCounted(t.blocksAtPeak, "block")}, after event ${formatCount(t.peakEvent)}`],
    ["never freed", `${formatCounted(t.liveBlocks, "block")}, ${formatExactBytes(t.liveBytes)}`],
    ["calls", `${formatCount(recording.records)} recorded: ${Object.entries(recording.calls).map(([name, n]) => `${name} ${formatCount(n)}`).join(", ") || "none"}`],
    ["left out", leftOut(recording)],
    ["rewritten", list([
      [c.reallocNull, "realloc(NULL, n) as a"],
      [c.unknownReallocs, "realloc of a block never seen allocated as a"],
      [c.reallocZeroFrees, "realloc(p, 0) (glibc frees p) as f"],
      [c.reusedAddresses, "address given again while still live here: f first"],
    ])],
  ];
  const missed = list([
    [h.nested, "calls made inside the recorder (a signal handler's, or the C library's inside realloc)"],
    [h.bootstrap, "calls served while the recorder looked up the C library"],
    [h.lost, `calls after the trace's file could not grow (errno ${h.lostErrno})`],
  ]);
  if (missed !== "nothing") entries.push(["not recorded", missed]);
  if (h.forked) entries.push(["forked", `from pid ${h.ppid}: frees of the blocks it had from its parent are among those left out`]);
  if (t.overAligned > 0) {
    entries.push(["note", `${formatCounted(t.overAligned, "m event")} with an alignment over 16 bytes, which tsmalloc replay's MEM domain refuses (it has no aligned allocation)`]);
  }
  if (run.earlier.length > 0) {
    entries.push(["before it", `the process ran ${run.earlier.map((e) => `${basename(e.header.exe) || "?"} (${formatCounted(e.records, "call")})`).join(", ")}, then exec'd: recorded, not written (--follow-forks writes them)`]);
  }
  const forks = run.earlier.reduce((sum, e) => sum + e.header.forks, h.forks);
  if (!run.followForks && forks > 0) entries.push(["forks", `${formatCounted(forks, "fork()")}: the children were not recorded (--follow-forks records them)`]);
  if (others.length > 0) {
    const listed = others.slice(0, LISTED).map((o) => `${shown(o.path)}: ${formatCounted(o.recording.tally.events, "event")} of ${basename(o.recording.header.exe) || "?"}${o.recording.header.forked ? " (forked)" : ""}`);
    if (others.length > LISTED) listed.push(`and ${formatCount(others.length - LISTED)} more beside it`);
    listed.forEach((text, i) => entries.push([i === 0 ? "also written" : "", text]));
  }
  entries.push(["replay it", `tsmalloc replay ${quoted(shown(path))} --verify --stats`]);
  lines.push(fields(entries));
  return `${lines.join("\n")}\n`;
}

/** What the normalisations left out of the main trace, by reason. */
function leftOut(recording: ConvertedRecording): string {
  const c = recording.counts;
  const nulls = c.nullReturns + recording.tooLarge;
  return list([
    [c.freeNull, "free(NULL)"],
    [c.unknownFrees, `${c.unknownFrees === 1 ? "free" : "frees"} of blocks never seen allocated (from before the recording, or the C library's own)`],
    [nulls, `${nulls === 1 ? "request" : "requests"} that returned NULL (a comment in the file)`],
    [recording.hugeAlignments, "blocks aligned to 4 GiB or more"],
  ]);
}

/** `3 free(NULL), 1 NULL return`: the non-zero counts, or "nothing". */
function list(items: readonly (readonly [number, string])[]): string {
  const present = items.filter(([n]) => n > 0).map(([n, what]) => `${formatCount(n)} ${what}`);
  return present.length === 0 ? "nothing" : present.join(", ");
}

function seconds(ms: number): string {
  return ms < 1000 ? `${formatMilliseconds(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A path as a shell takes it (quoted when it has anything but the usual characters). */
function quoted(path: string): string {
  return /^[\w./+-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}
