/*
 * c/tsmalloc-threads.c, the native twin of `tsmalloc bench --workers N`, through its command line:
 * built once into this file's own cache folder (c-build.ts, named by cSourceText) in its two
 * builds and in the tests' build, which damages one block of every shape on purpose; each shape's
 * JSON line; --check passing through both allocators and finding the damaged block; the churn
 * @tsmalloc/trace draws; one-line errors. And cSourceText itself: a header's change renames the
 * build. Nothing here is timed.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { churn } from "@tsmalloc/trace/bench";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCached, cachedName, cSourceText } from "../src/c-build.ts";
import { churnHash, REPLAYER_SOURCE, replayerName } from "../src/native-replayer.ts";
import { CLI_DIR, type CliRun, describeRun, runProcess, TempDir } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

const SOURCE = join(CLI_DIR, "c", "tsmalloc-threads.c");

/**
 * The builds: the C library's malloc; mimalloc's too (libmimalloc-dev, which
 * scripts/ensure-native-bench.sh installs); and the tests' build, in which --check's fill damages
 * the last byte of thread 0's block 3 in the second round (the churn's timed run, the remote
 * free's round 1, the pipeline's run).
 */
const BUILDS = {
  glibc: { flags: ["-O2", "-pthread"], libraries: ["-lm"] },
  mimalloc: { flags: ["-O2", "-pthread", "-DTSMALLOC_THREADS_MIMALLOC"], libraries: ["-lm", "-lmimalloc"] },
  corrupt: { flags: ["-O2", "-pthread", "-DTSMALLOC_THREADS_CORRUPT"], libraries: ["-lm"] },
} as const;
type Build = keyof typeof BUILDS;

const programs = new Map<Build, string>();

beforeAll(() => {
  const env = { XDG_CACHE_HOME: temp.file("cache") };
  const source = cSourceText(SOURCE);
  for (const build of Object.keys(BUILDS) as Build[]) {
    const result = buildCached(env, { command: "test", what: "the threads program", sourcePath: SOURCE, source, name: cachedName(`threads-${build}`, source), ...BUILDS[build] });
    if (!result.ok) throw new Error(result.message);
    programs.set(build, result.path);
  }
}, 120_000);

/** Runs a build of the program. */
function threads(build: Build, args: readonly string[]): Promise<CliRun> {
  return runProcess(programs.get(build)!, args);
}

/**
 * Runs a build of the program with its address space limited to about 1 GB (`ulimit -v`), so that a
 * request for 4 GB returns NULL (without the limit, Linux hands one out on a machine with the RAM).
 */
function threadsWithin1GB(build: Build, args: readonly string[]): Promise<CliRun> {
  return runProcess("/bin/sh", ["-c", 'ulimit -v 1000000 && exec "$0" "$@"', programs.get(build)!, ...args]);
}

/** The build an allocator is in. */
function buildOf(allocator: string): Build {
  return allocator === "mimalloc" ? "mimalloc" : "glibc";
}

/** The program's one JSON line. */
function outputOf(run: CliRun): Record<string, unknown> {
  expect(run.status, describeRun(run)).toBe(0);
  expect(run.stderr).toBe("");
  expect(run.stdout).toMatch(/^[^\n]+\n$/);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** The program's one-line error: exit `status`, nothing on stdout. */
function errorOf(run: CliRun, status: number): string {
  expect(run.status, describeRun(run)).toBe(status);
  expect(run.stdout).toBe("");
  expect(run.stderr).toMatch(/^tsmalloc-threads: [^\n]+\n$/);
  return run.stderr.slice("tsmalloc-threads: ".length, -1);
}

/** threads-bench-worker.ts's sizeOf: the size of the remote free's and the pipeline's block i. */
function sizeOf(i: number, min: number, max: number): number {
  return min + (((i * 2654435761) >>> 0) % (max - min + 1));
}

/** `--churn MIN,MAX,LIVE,PAIRS,SEED --churn-hash H`, H the hash of the sequence @tsmalloc/trace draws. */
function churnArgs(min: number, max: number, live: number, pairs: number, seed: number): string[] {
  return ["--churn", [min, max, live, pairs, seed].join(","), "--churn-hash", String(churnHash(churn("c", min, max, live, pairs, seed)))];
}

const ALLOCATORS = ["libc", "mimalloc"] as const;

describe("each shape's JSON line", () => {
  /** Expects the line's fields in order: the run's, then its `figures` (each above 0), then `failures` (0). */
  function expectLine(output: Record<string, unknown>, run: { workload: string; allocator: string; threads: number; units: number }, figures: readonly string[]): void {
    expect(Object.keys(output)).toEqual(["workload", "allocator", "threads", "units", ...figures, "failures"]);
    expect(output).toMatchObject({ ...run, failures: 0 });
    for (const figure of figures) expect(output[figure], figure).toBeGreaterThan(0);
  }

  it.each(ALLOCATORS)("churn through %s, with 1 and 2 threads: units are all the threads' pairs", async (allocator) => {
    for (const count of [1, 2]) {
      const output = outputOf(await threads(buildOf(allocator), ["--allocator", allocator, "--threads", String(count), ...churnArgs(8, 512, 1000, 5000, 3)]));
      expectLine(output, { workload: "churn", allocator, threads: count, units: 5000 * count }, ["ns"]);
    }
  });

  it.each(ALLOCATORS)("remote free through %s: per free of BLOCKS, the other thread's and its own", async (allocator) => {
    const output = outputOf(await threads(buildOf(allocator), ["--remote-free", "100,5,16,512", "--allocator", allocator]));
    expectLine(output, { workload: "remote free", allocator, threads: 2, units: 100 }, ["remoteNs", "localNs"]);
  });

  it.each(ALLOCATORS)("pipeline through %s: per block, and the two sides' own work per block", async (allocator) => {
    const output = outputOf(await threads(buildOf(allocator), ["--allocator", allocator, "--threads", "2", "--pipeline", "10000,16,512"]));
    expectLine(output, { workload: "pipeline", allocator, threads: 2, units: 10_000 }, ["ns", "busyNs"]);
  });

  it.each(ALLOCATORS)("through %s, a request the allocator cannot serve is a failure counted, not an error", async (allocator) => {
    // blocks of 2^32 - 2 bytes, 3 live, 2 pairs, in each of 2 threads: 5 NULLs each (the warm-up's are not counted)
    const output = outputOf(await threadsWithin1GB(buildOf(allocator), ["--allocator", allocator, "--threads", "2", "--churn", "4294967294,4294967294,3,2,1"]));
    expect(output).toMatchObject({ units: 4, failures: 10 });
  });
});

describe("--check: every block filled, and checked before its free in whichever thread frees it", () => {
  const shapes: readonly (readonly [string, readonly string[], number])[] = [
    ["churn, 1 thread", churnArgs(8, 512, 1000, 20_000, 3), 20_000],
    ["churn, 3 threads", ["--threads", "3", ...churnArgs(8, 512, 1000, 20_000, 3)], 60_000],
    ["remote free", ["--remote-free", "200,6,16,512"], 200],
    // five times round the ring of 4096
    ["pipeline", ["--pipeline", "20000,16,512"], 20_000],
  ];
  for (const allocator of ALLOCATORS) {
    it.each(shapes)(`%s, through ${allocator}: passes`, async (_name, args, units) => {
      const output = outputOf(await threads(buildOf(allocator), ["--check", "--allocator", allocator, ...args]));
      expect(output).toMatchObject({ allocator, units, failures: 0, checked: true });
      expect(Object.keys(output).at(-1)).toBe("checked");
    });
  }

  const damaged = "the block changed while it was live: it overlaps another, was handed out twice, or was written by a stray pointer";

  it("finds the block the tests' build damages: in the churn, the remote free and the pipeline", async () => {
    const drawn = churn("c", 8, 512, 1000, 3000, 3);
    const size = drawn.sizes[3]!;
    expect(errorOf(await threads("corrupt", ["--check", ...churnArgs(8, 512, 1000, 3000, 3)]), 1)).toMatch(
      new RegExp(`^churn: thread 0's block 3 \\(${size} bytes\\) in the timed run, checked before thread 0 frees it: byte ${size - 1} is 0x[0-9a-f]{2}, not 0x[0-9a-f]{2} \\(${damaged}\\)$`),
    );
    // round 1 frees thread 0's blocks first: thread 1 finds it
    const remote = sizeOf(3 + 1, 16, 512);
    expect(errorOf(await threads("corrupt", ["--check", "--remote-free", "50,4,16,512"]), 1)).toMatch(
      new RegExp(`^remote free: round 1, thread 0's block 3 \\(${remote} bytes\\), checked before thread 1 frees it: byte ${remote - 1} is 0x[0-9a-f]{2}, not 0x[0-9a-f]{2} \\(${damaged}\\)$`),
    );
    const piped = sizeOf(3, 16, 512);
    expect(errorOf(await threads("corrupt", ["--check", "--pipeline", "5000,16,512"]), 1)).toMatch(
      new RegExp(`^pipeline: block 3 \\(${piped} bytes\\) from the producer, checked before thread 1 frees it: byte ${piped - 1} is 0x[0-9a-f]{2}, not 0x[0-9a-f]{2} \\(${damaged}\\)$`),
    );
    // unchecked, that build damages nothing: its runs go through
    expect(outputOf(await threads("corrupt", ["--pipeline", "5000,16,512"]))).toMatchObject({ units: 5000, failures: 0 });
  });

  it("a NULL stops a checked run, naming the block", async () => {
    expect(errorOf(await threadsWithin1GB("glibc", ["--check", "--churn", "4294967294,4294967294,3,2,1"]), 1)).toBe("churn: thread 0's block 0 (4294967294 bytes) in the warm-up: malloc returned NULL");
    expect(errorOf(await threadsWithin1GB("glibc", ["--check", "--pipeline", "10,4294967294,4294967294"]), 1)).toMatch(/^pipeline: thread [01]'s block 0 \(4294967294 bytes\) in the warm-up: malloc returned NULL$/);
  });
});

describe("the churn", () => {
  it("is the sequence @tsmalloc/trace draws: the hash of any other is refused (exit 1)", async () => {
    const message = errorOf(await threads("glibc", ["--churn", "8,512,1000,100,3", "--churn-hash", String(churnHash(churn("c", 8, 512, 1000, 100, 4)))]), 1);
    expect(message).toMatch(/^the churn 8,512,1000,100,3 draws the sequence \d+, not the \d+ the caller expects \(this replayer's PRNG or the churn's parameters differ from @tsmalloc\/trace's\)$/);
    expect(message).toContain(`draws the sequence ${churnHash(churn("c", 8, 512, 1000, 100, 3))},`);
  });
});

describe("a bad command line: exit 2, one line", () => {
  const usage = "usage: tsmalloc-threads [--allocator libc|mimalloc] [--threads N] [--check] (--churn MIN,MAX,LIVE,PAIRS,SEED [--churn-hash H] | --remote-free BLOCKS,ROUNDS,MIN,MAX | --pipeline BLOCKS,MIN,MAX)";
  const cases: readonly (readonly [string, readonly string[], string])[] = [
    ["no shape", [], usage],
    ["no shape, only options", ["--check", "--threads", "2"], usage],
    ["two shapes", ["--churn", "8,512,10,10,1", "--pipeline", "10,16,32"], "one shape at a time (got --churn and --pipeline)"],
    ["a shape twice", ["--remote-free", "5,5,16,32", "--remote-free", "5,5,16,32"], "one shape at a time (got --remote-free and --remote-free)"],
    ["four numbers for the churn", ["--churn", "8,512,10,10"], '--churn must be MIN,MAX,LIVE,PAIRS,SEED (five whole numbers), got "8,512,10,10"'],
    ["a word in the remote free", ["--remote-free", "500,401,16,x"], '--remote-free must be BLOCKS,ROUNDS,MIN,MAX (four whole numbers), got "500,401,16,x"'],
    ["a negative pipeline", ["--pipeline", "-5,16,512"], '--pipeline must be BLOCKS,MIN,MAX (three whole numbers), got "-5,16,512"'],
    ["a fraction", ["--pipeline", "10,16.5,512"], '--pipeline must be BLOCKS,MIN,MAX (three whole numbers), got "10,16.5,512"'],
    ["a number past 2^64", ["--pipeline", "10,16,99999999999999999999"], '--pipeline must be BLOCKS,MIN,MAX (three whole numbers), got "10,16,99999999999999999999"'],
    ["MIN above MAX (churn)", ["--churn", "600,512,10,10,1"], "--churn: MIN (600) is above MAX (512)"],
    ["MIN above MAX (remote free)", ["--remote-free", "500,401,600,512"], "--remote-free: MIN (600) is above MAX (512)"],
    ["MIN above MAX (pipeline)", ["--pipeline", "10,600,512"], "--pipeline: MIN (600) is above MAX (512)"],
    ["no blocks", ["--pipeline", "0,16,512"], "--pipeline: BLOCKS,MIN,MAX must be below 2^32 - 1, BLOCKS and MIN at least 1"],
    ["blocks of 0 bytes", ["--remote-free", "10,5,0,512"], "--remote-free: BLOCKS,ROUNDS,MIN,MAX must be below 2^32 - 1, BLOCKS and MIN at least 1"],
    ["sizes of 2^32", ["--pipeline", "10,16,4294967296"], "--pipeline: BLOCKS,MIN,MAX must be below 2^32 - 1, BLOCKS and MIN at least 1"],
    ["one round", ["--remote-free", "500,1,16,512"], "--remote-free: ROUNDS must be at least 2 (round 0 is not counted)"],
    ["a pipeline past 2^32 with its warm-up", ["--pipeline", "4000000000,16,512"], "--pipeline: BLOCKS and the tenth more handed over untimed first must be below 2^32 - 1"],
    ["a churn of 0-byte blocks", ["--churn", "0,512,10,10,1"], "--churn: MIN and PAIRS must be at least 1 (a block of 0 bytes has no byte to touch; the figure is per pair)"],
    ["a churn of no pairs", ["--churn", "8,512,10,0,1"], "--churn: MIN and PAIRS must be at least 1 (a block of 0 bytes has no byte to touch; the figure is per pair)"],
    ["a churn with no live block", ["--churn", "8,512,0,10,1"], "--churn: MIN,MAX,LIVE,PAIRS,SEED must be integers below 2^32, LIVE at least 1"],
    ["0 threads", ["--threads", "0", "--churn", "8,512,10,10,1"], '--threads must be a whole number from 1 to 64, got "0"'],
    ["65 threads", ["--churn", "8,512,10,10,1", "--threads", "65"], '--threads must be a whole number from 1 to 64, got "65"'],
    ["threads that are not a number", ["--threads", "two", "--churn", "8,512,10,10,1"], '--threads must be a whole number from 1 to 64, got "two"'],
    ["3 threads for the remote free", ["--threads", "3", "--remote-free", "500,401,16,512"], "--remote-free runs 2 threads (one makes the blocks, the other frees them): --threads must be 2 or absent, got 3"],
    ["1 thread for the pipeline", ["--pipeline", "10,16,512", "--threads", "1"], "--pipeline runs 2 threads (one makes the blocks, the other frees them): --threads must be 2 or absent, got 1"],
    ["--churn-hash without the churn", ["--pipeline", "10,16,512", "--churn-hash", "1"], "--churn-hash goes with --churn, not --pipeline"],
    ["mimalloc in the build without it", ["--allocator", "mimalloc", "--pipeline", "10,16,512"], '--allocator: unknown allocator "mimalloc" (libc; mimalloc is in the build linked with it)'],
    ["an unknown allocator", ["--allocator", "jemalloc", "--pipeline", "10,16,512"], '--allocator: unknown allocator "jemalloc" (libc; mimalloc is in the build linked with it)'],
    ["an unknown option", ["--pipeline", "10,16,512", "--fast"], "unknown option or missing value: --fast"],
    ["a missing value", ["--churn"], "unknown option or missing value: --churn"],
    ["an argument that is not an option", ["10,16,512"], 'unexpected argument "10,16,512" (the shape is an option: --churn, --remote-free or --pipeline)'],
  ];
  it.each(cases)("%s", async (_what, args, message) => {
    expect(errorOf(await threads("glibc", args), 2)).toBe(message);
  });

  it("an unknown allocator in the mimalloc build", async () => {
    expect(errorOf(await threads("mimalloc", ["--allocator", "jemalloc", "--pipeline", "10,16,512"]), 2)).toBe('--allocator: unknown allocator "jemalloc" (libc or mimalloc)');
  });
});

describe("cSourceText: the text that names a C program's build", () => {
  it("is the source, then each local header it includes, recursively, each once, beside the file that names it", () => {
    const folder = temp.file("headers");
    mkdirSync(join(folder, "inner"), { recursive: true });
    const files: Record<string, string> = {
      "main.c": '#include <stdio.h>\n#include "a.h"\n  #  include "inner/c.h"\n#include "a.h"\nint main(void) { return 0; }\n',
      "a.h": '#include "inner/c.h"\nint a;\n',
      "inner/c.h": '#include "d.h"\nint c;\n',
      "inner/d.h": "int d;\n",
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
    const main = join(folder, "main.c");
    expect(cSourceText(main)).toBe([files["main.c"], "\0a.h\0", files["a.h"], "\0inner/c.h\0", files["inner/c.h"], "\0inner/d.h\0", files["inner/d.h"]].join(""));

    // a change to any of them, however deep, changes the build's name
    const name = cachedName("probe", cSourceText(main));
    writeFileSync(join(folder, "inner/d.h"), "int d, e;\n");
    const renamed = cachedName("probe", cSourceText(main));
    expect(renamed).not.toBe(name);
    writeFileSync(join(folder, "a.h"), '#include "inner/c.h"\nint a; \n');
    expect(cachedName("probe", cSourceText(main))).not.toBe(renamed);
  });

  it("throws the fs error of a header that is not there", () => {
    const main = temp.writePlain("missing.c", '#include "nowhere.h"\n');
    expect(() => cSourceText(main)).toThrow(expect.objectContaining({ code: "ENOENT", path: temp.file("nowhere.h") }));
    expect(() => cSourceText(temp.file("none.c"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });

  it("covers the programs' shared headers: a change to churn.h or common.h renames the replayer's build", () => {
    const folder = temp.file("replayer");
    mkdirSync(folder);
    for (const name of ["tsmalloc-replay.c", "churn.h", "common.h"]) copyFileSync(join(CLI_DIR, "c", name), join(folder, name));
    const source = join(folder, "tsmalloc-replay.c");
    expect(replayerName("glibc", cSourceText(source))).toBe(replayerName("glibc", cSourceText(REPLAYER_SOURCE)));
    const names = new Set([replayerName("glibc", cSourceText(source))]);
    for (const header of ["churn.h", "common.h"]) {
      writeFileSync(join(folder, header), `${readFileSync(join(folder, header), "utf8")}\n`);
      names.add(replayerName("glibc", cSourceText(source)));
    }
    expect(names.size).toBe(3);
    // and the threads program's text holds both headers, common.h once though two files include it
    const text = cSourceText(SOURCE);
    expect(text.split("\0common.h\0")).toHaveLength(2);
    expect(text).toContain(`\0churn.h\0${readFileSync(join(CLI_DIR, "c", "churn.h"), "utf8")}`);
  });
});
