/*
 * `pnpm bench` for @tsmalloc/trace: what reading, writing and replaying a trace costs per event,
 * on the bundled traces, each beside the floor it cannot go under:
 *
 *   find line ends    one indexOf("\n") per line over the gunzipped text: the least any reader does
 *   parse             parseTrace over the same text (typed arrays, every rule checked)
 *   gunzip            zlib's gunzipSync of the file: the floor of reading a .gz file
 *   readTrace         the streaming reader over the file (gunzip and parse, in chunks)
 *   write             writeTrace into a TraceWriter whose output keeps the chunks
 *   replay loop       TimedReplay through a target that does nothing: the loop's own cost
 *
 * In this process, each case in turn within a run (runs alternate between them), after one
 * untimed run that compiles the code; medians of `--runs` (5).
 *
 *   pnpm bench                    5 runs
 *   pnpm bench -- --runs 9        more runs
 *   pnpm bench -- --quick         1 run, on the first 100,000 events of each trace (the files are
 *                                 read whole)
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { BUNDLED_TRACES, bundledTracePath } from "@tsmalloc/bundled-traces";
import { formatCount, formatNanoseconds, formatRatio, parseTrace, readTrace, type ReplayTarget, TimedReplay, TraceWriter, writeTrace } from "@tsmalloc/trace";
import { median, parseBenchArgs } from "@tsmalloc/trace/bench";

const { runs, quick } = parseBenchArgs();
const limit = quick ? 100_000 : Infinity;

/** A target that hands out increasing addresses and frees nothing: the replay loop alone. */
class NullTarget implements ReplayTarget {
  #next = 16;
  malloc(): number {
    return (this.#next += 16);
  }
  calloc(): number {
    return (this.#next += 16);
  }
  realloc(): number {
    return (this.#next += 16);
  }
  free(): void {}
  memalign(): number {
    return (this.#next += 16);
  }
}

const CASES = ["find line ends", "parse", "gunzip", "readTrace", "write", "replay loop"] as const;
const started = Date.now();
const rows: string[] = [];
for (const { name } of BUNDLED_TRACES) {
  const path = bundledTracePath(name);
  const file = readFileSync(path);
  const whole = gunzipSync(file);
  const trace = parseTrace(whole, name, limit);
  // the text of the events timed (all of them, or the first `limit`)
  const text = trace.length === whole.length ? whole : whole.subarray(0, nthLineEnd(whole, trace.length));
  // reading the file is timed over the whole file, whatever the limit
  const fileEvents = quick ? parseTrace(whole, name).length : trace.length;
  const perEvent: Record<(typeof CASES)[number], number> = { "find line ends": trace.length, parse: trace.length, gunzip: fileEvents, readTrace: fileEvents, write: trace.length, "replay loop": trace.length };
  const times = new Map<string, number[]>(CASES.map((c) => [c, []]));
  const cases: Record<(typeof CASES)[number], () => Promise<unknown> | unknown> = {
    "find line ends": () => nthLineEnd(text, trace.length),
    parse: () => parseTrace(text, name),
    gunzip: () => gunzipSync(file),
    readTrace: () => readTrace(path),
    write: () => {
      const chunks: string[] = [];
      const writer = new TraceWriter((chunk) => chunks.push(chunk));
      writeTrace(trace, writer);
      return writer.end();
    },
    "replay loop": () => new TimedReplay(trace, new NullTarget()).run(),
  };
  for (let run = -1; run < runs; run++) {
    for (const label of CASES) {
      const t0 = process.hrtime.bigint();
      await cases[label]();
      const ns = Number(process.hrtime.bigint() - t0) / perEvent[label];
      // run -1 compiles the code and is not counted
      if (run >= 0) times.get(label)!.push(ns);
    }
  }
  const m = (label: (typeof CASES)[number]): number => median(times.get(label)!)!;
  rows.push(
    `| ${name} (${formatCount(trace.length)} events) | ${formatNanoseconds(m("find line ends"))} | ${formatNanoseconds(m("parse"))} (${formatRatio(m("parse") / m("find line ends"))}) | ${formatNanoseconds(m("gunzip"))} | ${formatNanoseconds(m("readTrace"))} (${formatRatio(m("readTrace") / m("gunzip"))}) | ${formatNanoseconds(m("write"))} | ${formatNanoseconds(m("replay loop"))} |`,
  );
}
process.stdout.write("| trace | find line ends | parse | gunzip | readTrace | write | replay loop |\n|---|---:|---:|---:|---:|---:|---:|\n");
process.stdout.write(`${rows.join("\n")}\n\n`);
process.stdout.write(`ns/event; median of ${runs} run(s), cases alternating within each run, after an untimed run; parse's ratio is to finding the line ends, readTrace's to gunzip alone; ${((Date.now() - started) / 1000).toFixed(0)} s in all; node ${process.version}\n`);

/** The index of the `n`-th newline of `bytes` (the end of its n-th line), or its length when there are fewer. */
function nthLineEnd(bytes: Uint8Array, n: number): number {
  let at = -1;
  for (let line = 0; line < n; line++) {
    at = bytes.indexOf(0x0a, at + 1);
    if (at < 0) return bytes.length;
  }
  return at + 1;
}
