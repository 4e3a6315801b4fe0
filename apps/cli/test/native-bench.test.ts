/*
 * `tsmalloc bench`'s native columns: the C replayer (c/tsmalloc-replay.c, built once into this
 * file's own cache folder, in both builds) keeps TimedReplay's bookkeeping, draws the churns that
 * @tsmalloc/trace draws, refuses bad input in one line, and is built again when its source
 * changes; the command shows the columns, and says in one line when it cannot (no compiler, no
 * mimalloc). Nothing here is timed.
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseTrace, TimedReplay } from "@tsmalloc/trace";
import { churn, largeChurn, smallChurn } from "@tsmalloc/trace/bench";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCached, cachedName, cSourceText } from "../src/c-build.ts";
import { NATIVE_NAMES } from "../src/contenders.ts";
import { EmptyTarget } from "../src/empty-target.ts";
import { churnHash, ensureReplayers, LARGE_CHURN, REPLAYER_SOURCE, replayerArguments, replayerName, SMALL_CHURN } from "../src/native-replayer.ts";
import { bundledPrefix, type CliRun, describeRun, jsonOf, runCli, runProcess, TempDir } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

/** This file's cache folder: the replayer is built once (both builds) for all of its tests. */
const CACHE = temp.file("cache");
const ENV = { XDG_CACHE_HOME: CACHE };
let glibcBuild = "";
let mimallocBuild = "";

beforeAll(() => {
  const { paths, notes } = ensureReplayers(ENV, NATIVE_NAMES);
  expect(notes).toEqual([]);
  glibcBuild = paths.get("glibc")!;
  mimallocBuild = paths.get("mimalloc")!;
}, 120_000);

/** Runs a build of the replayer. */
function replayer(binary: string, args: readonly string[]): Promise<CliRun> {
  return runProcess(binary, args);
}

/** The replayer's one JSON line. */
function outputOf<T>(run: CliRun): T {
  expect(run.status, describeRun(run)).toBe(0);
  expect(run.stderr).toBe("");
  expect(run.stdout.split("\n")).toHaveLength(2);
  return JSON.parse(run.stdout) as T;
}

/** The replayer's one-line error: exit `status`, nothing on stdout. */
function errorOf(run: CliRun, status: number): string {
  expect(run.status, describeRun(run)).toBe(status);
  expect(run.stdout).toBe("");
  expect(run.stderr).toMatch(/^tsmalloc-replay: [^\n]+\n$/);
  return run.stderr.slice("tsmalloc-replay: ".length, -1);
}

interface CheckOutput {
  readonly allocator: string;
  readonly units: number;
  readonly ids: number;
  readonly failures: number;
  readonly failedEvents: readonly number[];
  readonly liveIds: readonly number[];
}

/** TimedReplay's bookkeeping after the whole trace: the failed events and the ids still holding a block. */
function jsBookkeeping(text: string): { failedEvents: readonly number[]; liveIds: readonly number[]; ids: number } {
  const trace = parseTrace(new TextEncoder().encode(text), "t");
  const replay = new TimedReplay(trace, new EmptyTarget());
  replay.run();
  const liveIds = [];
  for (let id = 0; id < trace.ids; id++) if (replay.addressOf(id) !== 0) liveIds.push(id);
  return { failedEvents: [...replay.failedEvents], liveIds, ids: trace.ids };
}

/**
 * Requests no allocator can serve (2^50 bytes) among ordinary ones: a failed malloc, calloc and
 * memalign, whose blocks a later free skips and a later realloc turns into a malloc; failed
 * reallocs, whose old block goes on under the new id (twice); comments and empty lines.
 */
const NULL_TRACE = [
  "# requests that return NULL, and what follows them",
  "a 0 100",
  "a 1 1125899906842624",
  "f 1",
  "a 2 1125899906842624",
  "r 2 3 64",
  "",
  "c 4 1048576 1073741824",
  "r 0 5 1125899906842624",
  "m 6 64 1125899906842624",
  "a 7 0",
  "r 7 8 0",
  "c 9 3 5",
  "m 10 4096 100",
  "f 9",
  "r 5 11 1125899906842624",
  "a 12 1125899906842624",
].join("\n");

describe("the C replayer's bookkeeping is TimedReplay's", () => {
  it.each(["libc", "empty", "mimalloc"])("--check through %s: the same NULLs and the same live blocks", async (allocator) => {
    const path = temp.writeGzip("nulls.trace.gz", NULL_TRACE);
    const output = outputOf<CheckOutput>(await replayer(allocator === "mimalloc" ? mimallocBuild : glibcBuild, ["--check", "--allocator", allocator, path]));
    const expected = jsBookkeeping(NULL_TRACE);
    expect(output.allocator).toBe(allocator);
    expect(output.units).toBe(15);
    expect(output.ids).toBe(expected.ids);
    expect(output.failedEvents).toEqual([2, 4, 6, 7, 8, 14, 15]);
    expect(output.failedEvents).toEqual(expected.failedEvents);
    expect(output.failures).toBe(7);
    // 0's block went on as 5, then as 11 (both reallocs failed); 3 came from a malloc
    expect(output.liveIds).toEqual([3, 8, 10, 11]);
    expect(output.liveIds).toEqual(expected.liveIds);
  });

  it("on the first 20,000 events of py_compileall (--limit): no NULL, the same live blocks", async () => {
    const path = temp.writeBundledPrefix(30_000, "prefix.trace.gz");
    const output = outputOf<CheckOutput>(await replayer(glibcBuild, ["--check", "--limit", "20000", path]));
    const trace = parseTrace(new Uint8Array(bundledPrefix(30_000)), "prefix", 20_000);
    const replay = new TimedReplay(trace, new EmptyTarget());
    replay.run();
    const live = [];
    for (let id = 0; id < trace.ids; id++) if (replay.addressOf(id) !== 0) live.push(id);
    expect(output.units).toBe(20_000);
    expect(output.ids).toBe(trace.ids);
    expect(output.failures).toBe(0);
    expect(output.liveIds).toEqual(live);
    expect(live.length).toBeGreaterThan(1000);
  });
});

describe("the churns", () => {
  interface Dump {
    readonly live: number;
    readonly pairs: number;
    readonly hash: number;
    readonly sizes: readonly number[];
    readonly slots: readonly number[];
  }

  it.each([
    ["small", SMALL_CHURN, smallChurn(3_000)],
    ["large", LARGE_CHURN, largeChurn(3_000)],
  ] as const)("the %s churn: the replayer draws @tsmalloc/trace's sequence, value for value", async (_name, spec, expected) => {
    // the parameters the command passes draw what smallChurn() and largeChurn() draw
    const drawn = churn(expected.name, spec.minSize, spec.maxSize, spec.live, expected.pairs, spec.seed);
    expect(drawn.sizes).toEqual(expected.sizes);
    expect(drawn.slots).toEqual(expected.slots);
    const args = replayerArguments("libc", { kind: "churn", spec, churn: expected });
    const dump = outputOf<Dump>(await replayer(glibcBuild, [...args, "--dump"]));
    expect(dump.live).toBe(spec.live);
    expect(dump.pairs).toBe(3_000);
    expect(dump.sizes).toEqual([...expected.sizes]);
    expect(dump.slots).toEqual([...expected.slots]);
    expect(dump.hash).toBe(churnHash(expected));
    // and replays it with no NULL (the hash on its command line matches)
    const check = outputOf<{ failures: number; units: number }>(await replayer(mimallocBuild, [...args.slice(2), "--allocator", "mimalloc", "--check"]));
    expect(check).toMatchObject({ failures: 0, units: 3_000 });
  });

  it("the hash tells sequences apart, and the replayer refuses a churn that is not the one expected", async () => {
    expect(churnHash(smallChurn(100))).not.toBe(churnHash(smallChurn(101)));
    expect(churnHash(churn("x", 8, 512, 10_000, 100, 8))).not.toBe(churnHash(smallChurn(100)));
    const message = errorOf(await replayer(glibcBuild, ["--churn", "8,512,10000,100,8", "--churn-hash", String(churnHash(smallChurn(100)))]), 1);
    expect(message).toMatch(/^the churn 8,512,10000,100,8 draws the sequence \d+, not the \d+ the caller expects/);
  });
});

describe("the C replayer's errors: one line", () => {
  it.each([
    ["a line that is not an event", "a 0 10\nx 1 2\n", 'bad.trace:2: "x 1 2": unknown event (the events are a, c, r, f and m; # starts a comment)'],
    ["a missing field", "a 0 10\nr 0 1\n", 'bad.trace:2: "r 0 1": SIZE is missing'],
    ["a field that is not decimal", "a 0 0x10\n", 'bad.trace:1: "a 0 0x10": SIZE is missing or not a decimal number'],
    ["two spaces", "a  0 10\n", 'bad.trace:1: "a  0 10": two spaces before ID (fields are separated by one space)'],
    ["an extra field", "# c\na 0 10 5\n", 'bad.trace:2: "a 0 10 5": an extra field after SIZE, the last field'],
    ["a free of a block that is not live", "a 0 10\nf 1\n", 'bad.trace:2: "f 1": ID 1 is not a live block (never allocated, or freed already)'],
    ["a double free", "a 0 10\nf 0\nf 0\n", 'bad.trace:3: "f 0": ID 0 is not a live block (never allocated, or freed already)'],
    ["an id made twice", "a 0 10\nc 0 1 1\n", 'bad.trace:2: "c 0 1 1": ID 0 is already a live block'],
    ["an alignment that is not a power of two", "m 0 24 8\n", 'bad.trace:1: "m 0 24 8": ALIGN 24 is not a power of two'],
    ["an id above 2^32", "a 4294967296 8\n", 'bad.trace:1: "a 4294967296 8": ID 4294967296 is not below 2^32'],
    ["a size above 2^53", "a 0 9007199254740993\n", 'bad.trace:1: "a 0 9007199254740993": SIZE is larger than 2^53'],
    ["no events", "# only a comment\n\n", "bad.trace: the trace has no events"],
  ])("for %s", async (_what, text, message) => {
    const path = temp.writePlain("bad.trace", text);
    expect(errorOf(await replayer(glibcBuild, [path]), 1)).toBe(message);
  });

  it("for a file that is not there, and a damaged gzip file", async () => {
    expect(errorOf(await replayer(glibcBuild, [temp.file("none.trace.gz")]), 1)).toBe(`cannot read ${temp.file("none.trace.gz")}: No such file or directory`);
    const whole = readFileSync(temp.writeGzip("whole.trace.gz", "a 0 10\nf 0\n".repeat(1)));
    const cut = temp.writePlain("cut.trace.gz", whole.subarray(0, whole.length - 6));
    expect(errorOf(await replayer(glibcBuild, [cut]), 1)).toBe(`${cut}: not a valid gzip file (cut short or damaged)`);
  });

  it("for a bad command line (exit 2)", async () => {
    expect(errorOf(await replayer(glibcBuild, []), 2)).toMatch(/^usage: tsmalloc-replay /);
    expect(errorOf(await replayer(glibcBuild, ["--runs", "0", "x"]), 2)).toBe('--runs must be a whole number of at least 1, got "0"');
    expect(errorOf(await replayer(glibcBuild, ["--allocator", "mimalloc", "x"]), 2)).toBe('--allocator: unknown allocator "mimalloc" (libc or empty; mimalloc is in the build linked with it)');
    expect(errorOf(await replayer(glibcBuild, ["--churn", "8,512,0,10,1"]), 2)).toBe("--churn: MIN,MAX,LIVE,PAIRS,SEED must be integers below 2^32, LIVE at least 1");
  });
});

describe("the cache", () => {
  it("keeps each build under the source's hash, and builds again when the source changes", () => {
    const names = readdirSync(join(CACHE, "tsmalloc")).sort();
    const source = cSourceText(REPLAYER_SOURCE);
    expect(names).toEqual([replayerName("glibc", source), replayerName("mimalloc", source)]);
    expect(replayerName("glibc", source)).toMatch(/^replay-glibc-[0-9a-f]{16}-/);

    const env = { XDG_CACHE_HOME: temp.file("rebuild-cache") };
    const sourcePath = temp.file("probe.c");
    const build = (text: string): ReturnType<typeof buildCached> => {
      writeFileSync(sourcePath, text);
      return buildCached(env, { command: "test", what: "the probe", sourcePath, source: text, name: cachedName("probe", text), flags: ["-O2"], libraries: [] });
    };
    const first = build("int main(void) { return 3; }\n");
    expect(first).toMatchObject({ ok: true, built: true });
    expect(build("int main(void) { return 3; }\n")).toMatchObject({ ok: true, built: false });
    const changed = build("int main(void) { return 4; }\n");
    expect(changed).toMatchObject({ ok: true, built: true });
    expect(changed.ok && first.ok && changed.path !== first.path).toBe(true);
    // no temporary file is left behind
    expect(readdirSync(join(temp.file("rebuild-cache"), "tsmalloc")).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    expect(build("int main(void) { return }\n")).toMatchObject({ ok: false, why: "failed" });
    expect(readdirSync(join(temp.file("rebuild-cache"), "tsmalloc"))).toHaveLength(2);
  });
});

interface BenchJson {
  readonly contenders: readonly string[];
  readonly cells: readonly { readonly case: string; readonly contender: string; readonly status: string; readonly medianNsPerUnit: number | null; readonly failures: number; readonly error?: string }[];
  readonly nativeNotes: readonly string[];
}

describe("tsmalloc bench's native columns", () => {
  const small = temp.writeBundledPrefix(20_000, "small.trace.gz");

  it("--quick --json: glibc, mimalloc, empty and empty-c on every case, beside default", async () => {
    const contenders = ["default", "glibc", "mimalloc", "empty", "empty-c"];
    const json = jsonOf<BenchJson>(await runCli(["bench", small, "--quick", "--allocators", contenders.join(","), "--json"], { env: ENV }));
    expect(json.contenders).toEqual(contenders);
    expect(json.nativeNotes).toEqual([]);
    expect(json.cells).toHaveLength(3 * contenders.length);
    for (const cell of json.cells) {
      expect(cell.status, `${cell.contender} on ${cell.case}: ${cell.error}`).toBe("ok");
      expect(cell.medianNsPerUnit).toBeGreaterThan(0);
      expect(cell.failures).toBe(0);
    }
  }, 60_000);

  it("--markdown, with a budget no native run can meet: the columns, over budget", async () => {
    const text = (await runCli(["bench", small, "--quick", "--allocators", "glibc,empty-c", "--markdown", "--budget", "0.001"], { env: ENV })).stdout;
    expect(text.split("\n")[0]).toBe("| workload | unit | glibc | empty-c |");
    expect(text).toContain("| replay small (20,000 events) | ns/event | over budget | over budget |");
    expect(text).toContain("glibc, empty-c: a C replay of the same file or churn per run");
  });

  it("without a C compiler: one line says so; asked for, the native cells are unavailable; by default, left out", async () => {
    const env = { XDG_CACHE_HOME: temp.file("no-compiler-cache"), CC: "/nonexistent/cc" };
    const line = "bench: no C compiler: CC=/nonexistent/cc cannot be run (the native replayer is C, built on first use; set CC to a compiler, or unset it to use cc); no glibc, empty-c column";
    const json = jsonOf<BenchJson>(await runCli(["bench", small, "--quick", "--allocators", "empty,glibc,empty-c", "--json", "--budget", "5"], { env }));
    expect(json.nativeNotes).toEqual([line]);
    expect(json.cells.filter((c) => c.contender === "empty").map((c) => c.status)).toEqual(["ok", "ok", "ok"]);
    expect(json.cells.filter((c) => c.contender !== "empty").map((c) => c.status)).toEqual(Array(6).fill("unavailable"));

    // the default columns, each run stopped at once: the JavaScript ones only, and the line
    const text = (await runCli(["bench", small, "--quick", "--budget", "0.001"], { env })).stdout;
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^workload +unit +default +malloc +pymalloc_debug +thi\.ng\/malloc +uint8array +empty$/);
    expect(lines).toContain("bench: no C compiler: CC=/nonexistent/cc cannot be run (the native replayer is C, built on first use; set CC to a compiler, or unset it to use cc); no glibc, mimalloc, empty-c column");
  });

  it("without mimalloc's files: one line says how to get them, and the glibc column shows", async () => {
    // a compiler that builds everything but what needs mimalloc, as on a machine without libmimalloc-dev
    const compiler = temp.writePlain("cc-without-mimalloc", '#!/bin/sh\ncase "$*" in *-lmimalloc*) echo "x.c:1:10: fatal error: mimalloc.h: No such file or directory" >&2; exit 1;; esac\nexec cc "$@"\n');
    await runProcess("/bin/chmod", ["+x", compiler]);
    const env = { XDG_CACHE_HOME: temp.file("cache-without-mimalloc"), CC: compiler };
    const text = (await runCli(["bench", small, "--quick", "--budget", "0.001"], { env })).stdout;
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^workload +unit +default +malloc +pymalloc_debug +glibc +thi\.ng\/malloc +uint8array +empty +empty-c$/);
    expect(lines).toContain("bench: no mimalloc column: mimalloc's development files are not installed (install them: sudo apt-get install libmimalloc-dev)");
  });
});
