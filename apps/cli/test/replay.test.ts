/*
 * `tsmalloc replay` through the built command: the JSON summary under every configuration (its
 * figures against testkit's own profile of the trace), the text summary of the full bundled
 * trace, the configuration from TSMALLOC and --allocator, --verify on clean replays and on a
 * deliberately broken allocator, and --module's errors.
 */
import { bundledTraceMeta, loadTrace, traceProfile, type TraceProfile } from "@tsmalloc/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONFIG_NAMES, type CliRun, expectFailure, expectOk, expectTidyFigures, GCC_CC1, jsonOf, PY_COMPILEALL, runCli, TempDir } from "./helpers.ts";

/** The figures of `replay --json` the tests look at. */
interface HeapJson {
  readonly footprint: number;
  readonly memoryBytes: number;
  readonly mallocMappedBytes: number;
  readonly mallocSegments: number;
  readonly pymallocArenas: number | null;
  readonly pymallocPools: number | null;
}
interface ReplayJson {
  readonly trace: string;
  readonly path: string;
  readonly events: number;
  readonly allocator: string;
  readonly allocatorName: string | null;
  readonly module: string | null;
  readonly verified: boolean;
  readonly nsPerEvent: number;
  readonly runsNsPerEvent: readonly number[];
  readonly replayMs: number;
  readonly parseMs: number;
  readonly peakLiveBytes: number;
  readonly peakEvent: number;
  readonly blocksAtPeak: number;
  readonly peakLiveBlocks: number;
  readonly footprintAtPeak: number;
  readonly footprintRatio: number | null;
  readonly memoryHighWater: number;
  readonly highWaterRatio: number | null;
  readonly atPeak: HeapJson;
  readonly atEnd: HeapJson;
  readonly arenas: { readonly highwater: number; readonly allocated: number; readonly reclaimed: number } | null;
  readonly liveAtEndBlocks: number;
  readonly liveAtEndBytes: number;
  readonly failures: number;
  readonly statisticsAt?: string;
  readonly statistics?: { readonly text: string; readonly pymalloc: { readonly arenasHighwaterMark: number } | null; readonly malloc: { readonly mappedBytes: number } };
}

const temp = new TempDir();
afterAll(() => temp.remove());

const SMALL_EVENTS = 20_000;
const small = temp.writeBundledPrefix(SMALL_EVENTS);
const smallName = "py_compileall-20000";

let smallProfile: TraceProfile;
beforeAll(() => {
  smallProfile = traceProfile(loadTrace(small));
  // the prefix must have a peak before its end for the tests below to mean anything
  expect(smallProfile.events).toBe(SMALL_EVENTS);
  expect(smallProfile.peakLiveBytes).toBeGreaterThan(0);
});

const PYMALLOC_NAMES = new Set(["pymalloc", "pymalloc_debug"]);

describe("replay --json on the first 20,000 events of py_compileall", () => {
  it.each(CONFIG_NAMES)("under %s (allocatorName() = %s)", async (config, name) => {
    const json = jsonOf<ReplayJson>(await runCli(["replay", small, "--allocator", config, "--json"]));
    expect(json.trace).toBe(smallName);
    expect(json.path).toBe(small);
    expect(json.events).toBe(SMALL_EVENTS);
    expect(json.allocator).toBe(config);
    expect(json.allocatorName).toBe(name);
    expect(json.module).toBeNull();
    expect(json.verified).toBe(false);
    // the trace's own figures are testkit's
    expect(json.peakLiveBytes).toBe(smallProfile.peakLiveBytes);
    expect(json.peakEvent).toBe(smallProfile.peakEvent);
    expect(json.blocksAtPeak).toBe(smallProfile.blocksAtPeak);
    expect(json.peakLiveBlocks).toBe(smallProfile.peakLiveBlocks);
    expect(json.liveAtEndBlocks).toBe(smallProfile.liveAtEndBlocks);
    expect(json.liveAtEndBytes).toBe(smallProfile.liveAtEndBytes);
    // the heap held at least the live bytes at their peak
    expect(json.footprintAtPeak).toBeGreaterThanOrEqual(json.peakLiveBytes);
    expect(json.atPeak.footprint).toBe(json.footprintAtPeak);
    expect(json.footprintRatio).toBeCloseTo(json.footprintAtPeak / json.peakLiveBytes, 3);
    // the memory holds the footprint and its own header (a page at least), never shrinks, and
    // its size at the end is the high-water mark
    expect(json.atPeak.memoryBytes).toBeGreaterThanOrEqual(json.atPeak.footprint + 65_536);
    expect(json.atEnd.memoryBytes).toBeGreaterThanOrEqual(json.atPeak.memoryBytes);
    expect(json.atEnd.memoryBytes).toBeGreaterThanOrEqual(json.atEnd.footprint + 65_536);
    expect(json.memoryHighWater).toBe(json.atEnd.memoryBytes);
    expect(json.memoryHighWater % 65_536).toBe(0);
    expect(json.highWaterRatio).toBeCloseTo(json.memoryHighWater / json.peakLiveBytes, 3);
    expect(json.atPeak.mallocSegments).toBeGreaterThanOrEqual(1);
    if (PYMALLOC_NAMES.has(name)) {
      expect(json.atPeak.pymallocArenas).toBeGreaterThanOrEqual(1);
      expect(json.atPeak.pymallocPools).toBeGreaterThanOrEqual(1);
      expect(json.arenas).not.toBeNull();
      expect(json.arenas!.highwater).toBeGreaterThanOrEqual(json.atPeak.pymallocArenas!);
      expect(json.arenas!.allocated).toBeGreaterThanOrEqual(json.arenas!.highwater);
    } else {
      expect(json.atPeak.pymallocArenas).toBeNull();
      expect(json.atPeak.pymallocPools).toBeNull();
      expect(json.atEnd.pymallocArenas).toBeNull();
      expect(json.arenas).toBeNull();
    }
    expect(json.failures).toBe(0);
    expect(json.runsNsPerEvent).toHaveLength(3);
    for (const ns of json.runsNsPerEvent) expect(ns).toBeGreaterThan(0);
    expect(json.nsPerEvent).toBe([...json.runsNsPerEvent].sort((a, b) => a - b)[1]);
    // measured figures rounded: times to 0.1, the ratio to 0.001
    for (const time of [json.nsPerEvent, ...json.runsNsPerEvent, json.replayMs, json.parseMs]) expect(String(time)).toMatch(/^\d+(\.\d)?$/);
    expect(String(json.footprintRatio)).toMatch(/^\d+(\.\d{1,3})?$/);
    expect(String(json.highWaterRatio)).toMatch(/^\d+(\.\d{1,3})?$/);
    expect(json).not.toHaveProperty("statistics");
  });

  it("--verify replays once, --runs N replays N times", async () => {
    const [verified, two] = await Promise.all([runCli(["replay", small, "--verify", "--json"]), runCli(["replay", small, "--runs", "2", "--json"])]);
    const v = jsonOf<ReplayJson>(verified!);
    expect(v.verified).toBe(true);
    expect(v.runsNsPerEvent).toHaveLength(1);
    expect(v.failures).toBe(0);
    expect(v.peakLiveBytes).toBe(smallProfile.peakLiveBytes);
    const t = jsonOf<ReplayJson>(two!);
    expect(t.verified).toBe(false);
    expect(t.runsNsPerEvent).toHaveLength(2);
    // (the median of two is their mean, rounded after, not before)
    expect(Math.abs(t.nsPerEvent - (t.runsNsPerEvent[0]! + t.runsNsPerEvent[1]!) / 2)).toBeLessThanOrEqual(0.1);
  });

  it("takes a bundled trace's name for its file: replay py_compileall", async () => {
    const json = jsonOf<ReplayJson>(await runCli(["replay", "py_compileall", "--limit", "1000", "--json", "--runs", "1"]));
    expect(json.trace).toBe("py_compileall");
    expect(json.path).toBe(PY_COMPILEALL);
    expect(json.events).toBe(1000);
    expect(json.peakLiveBytes).toBe(traceProfile(loadTrace(small, 1000)).peakLiveBytes);
    // a file of that name in the working directory is the file, as any path is
    const own = temp.writePlain("py_compileall", "a 0 16\nf 0\n");
    const local = jsonOf<ReplayJson>(await runCli(["replay", "py_compileall", "--json", "--runs", "1"], { cwd: temp.path }));
    expect(local.path).toBe("py_compileall");
    expect(local.events).toBe(2);
    expect(own).toBe(temp.file("py_compileall"));
  });

  it("--limit N replays the first N events", async () => {
    const json = jsonOf<ReplayJson>(await runCli(["replay", small, "--limit", "1000", "--json", "--runs", "1"]));
    const profile = traceProfile(loadTrace(small, 1000));
    expect(json.events).toBe(1000);
    expect(json.peakLiveBytes).toBe(profile.peakLiveBytes);
    expect(json.peakEvent).toBe(profile.peakEvent);
    expect(json.liveAtEndBlocks).toBe(profile.liveAtEndBlocks);
    expect(json.peakLiveBytes).toBeLessThan(smallProfile.peakLiveBytes);
  });

  it("--json --stats adds the statistics, as numbers and as text", async () => {
    const json = jsonOf<ReplayJson>(await runCli(["replay", small, "--stats", "--json", "--runs", "1"]));
    expect(json.statisticsAt).toBe("end");
    expect(json.statistics!.pymalloc!.arenasHighwaterMark).toBe(json.arenas!.highwater);
    expect(json.statistics!.malloc.mappedBytes).toBe(json.atEnd.mallocMappedBytes);
    expect(json.statistics!.text).toContain("Small block threshold = 512, in 32 size classes.");
  });
});

/** The statistics part of `replay --stats`'s text, after its header (and the note under it, if any). */
function statisticsPart(stdout: string, at: "end of the trace" | "peak of live bytes"): string {
  const header = `\nstatistics at the ${at}:\n`;
  const start = stdout.indexOf(header);
  expect(start, stdout).toBeGreaterThan(0);
  return stdout.slice(stdout.indexOf("\n\n", start + 1) + 2);
}

/** The number after `=` on the statistics line that starts with `label`. */
function counter(table: string, label: string): number {
  const line = table.split("\n").find((l) => l.startsWith(label));
  expect(line, `no "${label}" line in\n${table}`).toBeDefined();
  return Number(line!.slice(line!.indexOf("=") + 1).replaceAll(",", "").trim());
}

describe("replay of the full bundled py_compileall, as text", () => {
  let atEnd: CliRun;
  let atPeak: CliRun;
  beforeAll(async () => {
    [atEnd, atPeak] = await Promise.all([runCli(["replay", PY_COMPILEALL, "--stats"]), runCli(["replay", PY_COMPILEALL, "--stats", "--at", "peak", "--runs", "1"])]);
  });

  it("prints the title, the trace's peak and the summary lines", () => {
    const meta = bundledTraceMeta("py_compileall");
    expect(meta.events).toBe(995_232);
    expect(meta.peak_live_bytes).toBe(11_323_148);
    const lines = expectOk(atEnd).split("\n");
    expect(lines[0]).toBe('py_compileall: 995,232 events replayed through MEM under "default" (allocatorName() = pymalloc)');
    expect(lines).toContain("  peak live bytes    11,323,148 B (10.8 MiB) in 74,793 blocks, after event 251,313");
    expect(lines).toContain("  NULL returns       0");
    expect(lines).toContain("  verified           no (--verify checks every block)");
    expect(lines.find((l) => l.startsWith("  time "))).toMatch(/^ {2}time {15}\d+(\.\d)? ns\/event \(\d+(\.\d)? ms; median of 3 runs in this process/);
    expect(lines.find((l) => l.startsWith("  footprint at peak "))).toMatch(/^ {2}footprint at peak {2}[\d,]+ B \([\d.]+ MiB\) mapped: \d\.\d\d× the live bytes$/);
    expect(lines.find((l) => l.startsWith("  memory high-water "))).toMatch(/^ {2}memory high-water {2}[\d,]+ B \([\d.]+ MiB\): \d\.\d\d× the live bytes \(the memory's size, header included; it never shrinks\)$/);
    expect(lines.find((l) => l.startsWith("  pymalloc at peak "))).toMatch(/^ {2}pymalloc at peak {3}\d+ arenas, [\d,]+ pools in use$/);
    expect(lines.find((l) => l.startsWith("  at the end "))).toMatch(/^ {2}at the end {9}514 blocks never freed, 68,075 B \(66\.5 KiB\); footprint [\d,]+ B \([\d.]+ MiB\)$/);
    expectTidyFigures(expectOk(atEnd));
    expectTidyFigures(expectOk(atPeak));
  });

  it("--stats appends pymalloc's statistics at the end of the trace", () => {
    const table = statisticsPart(expectOk(atEnd), "end of the trace");
    expect(table.startsWith("Small block threshold = 512, in 32 size classes.\n")).toBe(true);
    expect(table).toContain("# arenas highwater mark");
    expect(table).toContain("system malloc");
    // the arenas held at the end, as the summary's "pymalloc arenas" line counts them
    const summary = expectOk(atEnd).split("\n").find((l) => l.startsWith("  pymalloc arenas "))!;
    const [highwater, , reclaimed] = [...summary.matchAll(/\d[\d,]*/g)].map((m) => Number(m[0].replaceAll(",", "")));
    expect(counter(table, "# arenas highwater mark")).toBe(highwater);
    expect(counter(table, "# arenas reclaimed")).toBe(reclaimed);
  });

  it("--at peak takes the statistics at the peak of live bytes: another table", () => {
    const peakText = expectOk(atPeak);
    const peakTable = statisticsPart(peakText, "peak of live bytes");
    const endTable = statisticsPart(expectOk(atEnd), "end of the trace");
    expect(peakTable).not.toBe(endTable);
    // the arenas then are the summary's "pymalloc at peak"
    const arenasAtPeak = Number(/pymalloc at peak {3}(\d+) arenas/.exec(peakText)![1]);
    expect(counter(peakTable, "# arenas allocated current")).toBe(arenasAtPeak);
    expect(counter(peakTable, "# bytes in allocated blocks")).toBeGreaterThan(counter(endTable, "# bytes in allocated blocks"));
    expect(peakText).toContain("; 1 run; ");
    // the arena given back after the peak is in the summary's count, not in the table's: said under the heading
    expect(counter(peakTable, "# arenas reclaimed")).toBe(0);
    expect(peakText).toContain("\n  pymalloc arenas    6 at most, 6 allocated in all, 1 given back\n");
    expect(peakText).toContain(
      '\nstatistics at the peak of live bytes:\nThe table\'s counters stop at the point it was taken: its "# arenas reclaimed = 0" leaves out the\narena given back after it, which the summary\'s "1 given back" counts.\n\nSmall block threshold',
    );
    expect(expectOk(atEnd)).toContain("\nstatistics at the end of the trace:\n\nSmall block threshold");
  });
});

describe("the configuration: --allocator, else TSMALLOC, else default", () => {
  const title = (config: string, name: string): string => `${smallName}: 20,000 events replayed through MEM under "${config}" (allocatorName() = ${name})`;
  const cases: readonly (readonly [string, Readonly<Record<string, string>>, readonly string[], string, string])[] = [
    ["neither: default", {}, [], "default", "pymalloc"],
    ["TSMALLOC=malloc", { TSMALLOC: "malloc" }, [], "malloc", "malloc"],
    ["TSMALLOC empty: default", { TSMALLOC: "" }, [], "default", "pymalloc"],
    ["--allocator over TSMALLOC", { TSMALLOC: "malloc" }, ["--allocator", "pymalloc_debug"], "pymalloc_debug", "pymalloc_debug"],
  ];
  it.each(cases)("%s", async (_label, env, args, config, name) => {
    const text = expectOk(await runCli(["replay", small, "--runs", "1", ...args], { env }));
    expect(text.split("\n", 1)[0]).toBe(title(config, name));
    expect(text.includes("  pymalloc           not in this configuration\n")).toBe(!PYMALLOC_NAMES.has(name));
  });
});

describe("replay --verify on clean replays", () => {
  const VERIFIED = "  verified           yes";
  it.each([
    ["py_compileall under default", [PY_COMPILEALL, "--allocator", "default"], "py_compileall: 995,232 events", '"default"'],
    ["py_compileall under pymalloc_debug", [PY_COMPILEALL, "--allocator", "pymalloc_debug"], "py_compileall: 995,232 events", '"pymalloc_debug"'],
    ["300,000 events of gcc_cc1_wrapt under malloc", [GCC_CC1, "--allocator", "malloc", "--limit", "300000"], "gcc_cc1_wrapt: 300,000 events", '"malloc"'],
  ])("%s", async (_label, args, events, config) => {
    const text = expectOk(await runCli(["replay", ...args, "--verify"]));
    expect(text.startsWith(`${events} replayed through MEM under ${config}`)).toBe(true);
    expect(text).toContain(`\n${VERIFIED}: every block's bytes checked`);
    expect(text).toContain("; 1 run, fills and checks included;");
    expect(text).toContain("\n  NULL returns       0\n");
  });

  it("memalign up to 16 bytes, calloc and realloc pass", async () => {
    const trace = temp.writePlain("memalign.trace", "m 0 16 40\nc 1 3 8\nr 0 2 100\nm 3 8 1\nf 1\nf 2\n");
    const json = jsonOf<ReplayJson>(await runCli(["replay", trace, "--verify", "--json"]));
    expect(json.events).toBe(6);
    expect(json.verified).toBe(true);
    expect(json.peakLiveBytes).toBe(40 + 24 + 1 + 60);
    expect(json.liveAtEndBlocks).toBe(1);
    expect(json.liveAtEndBytes).toBe(1);
  });
});

describe("a request that returns NULL is not a live block (issue 16)", () => {
  const big = temp.writePlain("big.trace", "a 1 3000000000\n");
  // the refused request makes the trace's peak, after event 2, when pymalloc's pool holds the 100
  // bytes; without it, the peak is the 600 bytes after event 5, and pymalloc has no pool in use
  const moved = temp.writePlain("moved.trace", "a 0 100\na 1 3000000000\nf 1\nf 0\na 2 600\n");

  it("the text summary: no live bytes, no block never freed, no ratio, the NULL named", async () => {
    const lines = expectOk(await runCli(["replay", big])).split("\n");
    expect(lines[0]).toBe('big: 1 event replayed through MEM under "default" (allocatorName() = pymalloc)');
    expect(lines).toContain("  peak live bytes    0 B in 0 blocks, after event 1");
    expect(lines.find((l) => l.startsWith("  footprint at peak "))).toMatch(/ mapped: - the live bytes$/);
    expect(lines.find((l) => l.startsWith("  memory high-water "))).toMatch(/: - the live bytes \(the memory's size/);
    expect(lines.find((l) => l.startsWith("  at the end "))).toMatch(/^ {2}at the end {9}0 blocks never freed, 0 B; footprint /);
    expect(lines).toContain("  NULL returns       1 (event 1): not live blocks");
  });

  it.each([[[]], [["--verify"]], [["--runs", "2"]]])("the JSON (%j), and the heap looked at after the peak of what the replay held", async (args) => {
    const one = jsonOf<ReplayJson & { failedEvents: number[] }>(await runCli(["replay", big, "--json", ...args]));
    expect(one).toMatchObject({ failures: 1, failedEvents: [1], peakLiveBytes: 0, blocksAtPeak: 0, liveAtEndBlocks: 0, liveAtEndBytes: 0, footprintRatio: null, highWaterRatio: null });
    const json = jsonOf<ReplayJson & { failedEvents: number[] }>(await runCli(["replay", moved, "--json", ...args]));
    expect(json).toMatchObject({ failures: 1, failedEvents: [2], peakLiveBytes: 600, peakEvent: 5, blocksAtPeak: 1, peakLiveBlocks: 1, liveAtEndBlocks: 1, liveAtEndBytes: 600 });
    // looked at after event 5: the 600 bytes are the system malloc's, pymalloc has no pool in use
    expect(json.atPeak.pymallocPools).toBe(0);
  });
});

describe("replay --verify catches a broken allocator", () => {
  const OVERLAPPING = "test/fixtures/overlapping-allocator.mjs";
  const twoBlocks = temp.writePlain("two-blocks.trace", "a 0 24\na 1 24\nf 0\nf 1\n");

  it("the second malloc overlapping the first: exit 1, one line naming the event, the line and the bytes", async () => {
    const run = await runCli(["replay", twoBlocks, "--module", OVERLAPPING, "--verify"], { env: { OVERLAP_EVERY: "2" } });
    const line = expectFailure(run, 1);
    expect(line).toMatch(/^tsmalloc: replay failed at event 3 \(line 3 of two-blocks\): block 0 at 0x[0-9a-f]+ \(24 bytes\) was overwritten at \+0: 0x02 instead of 0x01$/);
  });

  it("names the event's line in a file with comments and empty lines", async () => {
    const commented = temp.writePlain("commented.trace", "# two blocks, by hand\n\na 0 24\na 1 24\n\n# the first is checked here\nf 0\nf 1\n");
    const line = expectFailure(await runCli(["replay", commented, "--module", OVERLAPPING, "--verify"], { env: { OVERLAP_EVERY: "2" } }), 1);
    expect(line).toMatch(/^tsmalloc: replay failed at event 3 \(line 7 of commented\): block 0 at /);
  });

  it("without --verify the same replay ends well: the fault goes unseen", async () => {
    const text = expectOk(await runCli(["replay", twoBlocks, "--module", OVERLAPPING], { env: { OVERLAP_EVERY: "2" } }));
    expect(text.split("\n", 1)[0]).toBe(`two-blocks: 4 events replayed through MEM under "default" with MEM served by ${OVERLAPPING}`);
    expect(text).toContain("  verified           no");
  });

  it("with OVERLAP_EVERY unset (every 1000th malloc), the full bundled trace fails --verify", async () => {
    const line = expectFailure(await runCli(["replay", PY_COMPILEALL, "--module", OVERLAPPING, "--verify"]), 1);
    expect(line).toMatch(/^tsmalloc: replay failed at event [\d,]+ \(line [\d,]+ of py_compileall\): block \d+ at 0x[0-9a-f]+ \(\d+ bytes\) was overwritten at \+\d+: /);
    // the event is in the trace, and the line is the event's
    const [, event, line1] = /event ([\d,]+) \(line ([\d,]+)/.exec(line)!.map((s) => Number(s.replaceAll(",", "")));
    expect(line1).toBe(event);
    expect(event).toBeGreaterThanOrEqual(1000);
  });

  it("the module's JSON names it, and allocatorName is null", async () => {
    const json = jsonOf<ReplayJson>(await runCli(["replay", twoBlocks, "--module", OVERLAPPING, "--json", "--runs", "1"], { env: { OVERLAP_EVERY: "1000000" } }));
    expect(json.module).toBe(OVERLAPPING);
    expect(json.allocatorName).toBeNull();
    expect(json.allocator).toBe("default");
  });

  it.each([[[]], [["--verify"]]])("an allocator that throws (%j): exit 1, the first line of its message", async (args) => {
    const module = temp.writePlain(
      "throwing.mjs",
      `export default ({ memory, mem }) => {
        let calls = 0;
        return {
          name: "throwing", memory,
          malloc: (n) => { if (++calls === 3) throw new Error("malloc exploded\\nsecond line"); return mem.malloc(n); },
          calloc: (a, b) => mem.calloc(a, b), realloc: (p, n) => mem.realloc(p, n), free: (p) => mem.free(p),
        };
      };\n`,
    );
    const line = expectFailure(await runCli(["replay", small, "--module", module, "--runs", "1", ...args]), 1);
    expect(line).toBe(`tsmalloc: replay failed at event 3 (line 3 of ${smallName}): the allocator threw Error: malloc exploded`);
  });
});

describe("replay under the debug hooks of an allocator that overflows a block", () => {
  it("exits 1 with the event, then the hooks' report in CPython's format", async () => {
    const module = temp.writePlain(
      "overflowing.mjs",
      `export default ({ memory, mem }) => {
        let calls = 0;
        return {
          name: "overflowing", memory,
          malloc(size) { const p = mem.malloc(size); if (++calls === 100 && p !== 0) memory.u8[p + size] = 0x78; return p; },
          calloc: (a, b) => mem.calloc(a, b), realloc: (p, n) => mem.realloc(p, n), free: (p) => mem.free(p),
        };
      };\n`,
    );
    const run = await runCli(["replay", small, "--module", module, "--allocator", "pymalloc_debug", "--runs", "1"]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^tsmalloc: replay failed at event [\\d,]+ \\(line [\\d,]+ of ${smallName}\\): the allocator threw DebugCorruptionError: debugRawFree: bad trailing pad byte$`));
    expect(lines[1]).toBe("");
    expect(lines[2]).toMatch(/^Debug memory block at address p=0x[0-9a-f]+: API 'm'$/);
    expect(run.stderr).toContain("        at tail+0: 0x78 *** OUCH\n");
    expect(run.stderr.endsWith("Fatal tsmalloc error: debugRawFree: bad trailing pad byte\n")).toBe(true);
    expect(run.stderr).not.toMatch(/^ {4}at /m);
  });
});

describe("replay --module errors: exit 2, one line", () => {
  const modules: readonly (readonly [string, string | null, RegExp])[] = [
    ["a missing file", null, /^tsmalloc: cannot load module \S+missing\.mjs: no such file$/],
    ["a default export that is not a function", "export default 42;\n", /^tsmalloc: module \S+\.mjs: the default export must be a function .*, got 42$/],
    ["no default export", "export const x = 1;\n", /^tsmalloc: module \S+\.mjs: the default export must be a function .*, got undefined$/],
    ["a module that fails to load", "export default (;\n", /^tsmalloc: cannot load module \S+\.mjs: \S/],
    ["a factory that throws", 'export default () => { throw new Error("no memory for you\\nat line 2"); };\n', /^tsmalloc: module \S+\.mjs: its factory threw: no memory for you$/],
    ["a factory returning {} (not an Allocator)", "export default () => ({});\n", /^tsmalloc: module \S+\.mjs: .*must be an Allocator/],
  ];
  const tiny = temp.writePlain("tiny.trace", "a 0 16\nf 0\n");
  it.each(modules)("%s", async (label, source, message) => {
    const path = source === null ? temp.file("missing.mjs") : temp.writePlain(`${label.replaceAll(/\W+/g, "-")}.mjs`, source);
    const line = expectFailure(await runCli(["replay", tiny, "--module", path]), 2);
    expect(line).toMatch(message);
    expect(line).toContain(path);
  });
});

describe("the memory a replay costs (issue 15): footprint and high-water against the live bytes", () => {
  // py_compileall under `default` before issue 15: footprint 1.198×, high-water 1.296× (16 pages of
  // holes below 1 MiB-aligned arenas, and malloc's free tail of an eighth of its heap)
  const paths: Record<string, string> = { py_compileall: PY_COMPILEALL, gcc_cc1_wrapt: GCC_CC1 };
  it.each([
    ["py_compileall", "default", 1.17, 1.2],
    ["py_compileall", "malloc", 1.11, 1.11],
    ["gcc_cc1_wrapt", "default", 1.43, 1.45],
    ["gcc_cc1_wrapt", "malloc", 1.37, 1.38],
  ])("%s under %s: footprint at peak <= %d×, high-water <= %d×, no hole at the peak", async (trace, config, footprint, highWater) => {
    const json = jsonOf<ReplayJson>(await runCli(["replay", paths[trace]!, "--allocator", config, "--runs", "1", "--json"]));
    expect(json.footprintRatio).toBeLessThanOrEqual(footprint);
    expect(json.highWaterRatio).toBeLessThanOrEqual(highWater);
    // every page the memory holds at the peak is mapped: the header's page and the allocators' regions
    expect(json.atPeak.memoryBytes).toBe(json.atPeak.footprint + 65_536);
  });
});
