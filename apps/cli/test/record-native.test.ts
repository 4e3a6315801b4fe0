/*
 * `tsmalloc record`, through the built command: C programs this file compiles
 * (test/fixtures/record/*.c) and python3 are recorded with the LD_PRELOAD recorder (built once, into
 * this file's own cache folder), and the traces are read back line by line and replayed with
 * `tsmalloc replay --verify`: the calls of every function of the malloc family with the
 * normalisations, all threads' calls in one consistent order, forks and execs, the summary, the
 * exit status, and the one-line errors (no compiler, no program, a program that ignores LD_PRELOAD).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { defaultOutput, parseRecordLine, siblingOutput } from "../src/record-command.ts";
import { recordUnsupported } from "../src/record-platform.ts";
import { cacheFolder, SHIM_SOURCE, shimName } from "../src/record-shim.ts";
import { isPythonCommand } from "../src/python-program.ts";
import { childEnv, CLI_DIR, type CliRun, describeRun, expectFailure, jsonOf, MAIN_JS, runCli, TempDir, usageMessage } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

/** This file's cache folder: the recorder is built once for all of its tests. */
const CACHE = temp.file("cache");
const ENV = { XDG_CACHE_HOME: CACHE };

/** A fixture compiled into the temporary folder (without optimisation: every call is made). */
function compiled(name: string, flags: readonly string[] = []): string {
  const output = temp.file(name);
  if (existsSync(output)) return output;
  const run = spawnSync("cc", ["-O0", "-fno-builtin", "-w", "-pthread", ...flags, "-o", output, join(CLI_DIR, "test", "fixtures", "record", `${name.replace(/-static$/, "")}.c`)], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`cc failed for ${name}: ${run.stderr}`);
  return output;
}

/** `tsmalloc record -o FILE ARGS...` in the temporary folder. */
function record(output: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<CliRun> {
  return runCli(["record", "-o", output, ...args], { cwd: temp.path, env: { ...ENV, ...env } });
}

/** The lines of a gzip trace file. */
function linesOf(path: string): string[] {
  return gunzipSync(readFileSync(path)).toString("utf8").trimEnd().split("\n");
}

/** The summary's value for a label (`  label   value`). */
function field(run: CliRun, label: string): string {
  const match = new RegExp(`\\n  ${label.replace(/[()]/g, "\\$&")} +(.*)\\n`).exec(run.stderr);
  if (match === null) throw new Error(`no "${label}" in the summary:\n${run.stderr}`);
  return match[1]!;
}

interface ReplayJson {
  readonly verified: boolean;
  readonly events: number;
  readonly failures: number;
  readonly peakLiveBytes: number;
  readonly peakEvent: number;
  readonly liveAtEndBlocks: number;
}

/** `tsmalloc replay FILE --verify --json`, which must pass. */
async function replayVerified(path: string): Promise<ReplayJson> {
  const json = jsonOf<ReplayJson>(await runCli(["replay", path, "--verify", "--json"]));
  expect(json.verified).toBe(true);
  expect(json.failures).toBe(0);
  return json;
}

describe("tsmalloc record of a C program", () => {
  it("records every function of the malloc family, with the format's normalisations", async () => {
    const program = compiled("malloc-family");
    const out = temp.file("family.trace.gz");
    const run = await record(out, ["--", program]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toBe("");
    const lines = linesOf(out);
    expect(lines[0]).toBe(`# recorded by tsmalloc record from ${program} (pid ${/\(pid (\d+)\)/.exec(run.stderr)![1]}): ${program}`);
    const from = lines.findIndex((line) => line.endsWith(" 7777"));
    const shown = relative(lines.slice(from, lines.findIndex((line) => line.endsWith(" 8888")) + 1), 7777).map((line) => line.replace(/0x[0-9a-f]+/, "0xADDRESS"));
    expect(shown).toEqual([
      "a K0 7777",
      "a K1 100",
      "c K2 10 24",
      "r K1 K3 200",
      "a K4 50", // realloc(NULL, 50)
      // free(NULL): nothing
      "a K5 30",
      "f K5", // realloc(p, 0): glibc frees p
      "# malloc(18446744073709551615) returned NULL",
      "# calloc(9223372036854775807, 4) returned NULL",
      "# memalign(3, 10) returned NULL", // posix_memalign's EINVAL
      "m K6 64 300", // posix_memalign
      "m K7 32 64", // aligned_alloc
      "m K8 128 10", // memalign
      "m K9 4096 5000", // valloc
      "m K10 4096 8192", // pvalloc: whole pages
      "a K11 128", // reallocarray(NULL, 8, 16)
      "r K11 K12 256",
      "# reallocarray(0xADDRESS, 18446744073709551615) returned NULL", // nmemb * size overflowed
      "f K8",
      "f K9",
      "f K10",
      "f K7",
      "f K6",
      "f K12",
      "f K4",
      "f K2",
      "f K3",
      "f K0",
      "a K13 8888",
    ]);
    expect(field(run, "calls")).toMatch(/recorded: malloc \d+, calloc \d+, realloc \d+, free \d+, memalign 1, posix_memalign 2, aligned_alloc 1, valloc 1, pvalloc 1, reallocarray 3$/);
    expect(field(run, "left out")).toMatch(/^\d+ free\(NULL\), 4 requests that returned NULL \(a comment in the file\)$/);
    expect(field(run, "rewritten")).toBe("2 realloc(NULL, n) as a, 1 realloc(p, 0) (glibc frees p) as f");
    expect(field(run, "note")).toBe("5 m events with an alignment over 16 bytes, which tsmalloc replay's MEM domain refuses (it has no aligned allocation)");
    expect(lines.at(-1)).toMatch(/^# \d+ events; left out: 4 NULL returns, \d+ free\(NULL\), 0 frees of blocks never seen allocated$/);
  });

  it("records a program's work, which tsmalloc replay --verify replays with the same peak", async () => {
    const out = temp.file("workload.trace.gz");
    const run = await record(out, ["--", compiled("workload"), "20000"]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toBe("15000 distinct words\n");
    expect(run.stderr).toMatch(/^\ntsmalloc record: \S+workload exited with status 0 after [\d.]+ m?s; its trace was written [\d.]+ m?s later\n/);
    const json = await replayVerified(out);
    const events = Number(/^\S+: ([\d,]+) events of /.exec(field(run, "trace"))![1]!.replaceAll(",", ""));
    expect(json.events).toBe(events);
    expect(field(run, "peak live bytes")).toBe(`${json.peakLiveBytes.toLocaleString("en-US")} B (${/\((.*)\)/.exec(field(run, "peak live bytes"))![1]}) in ${/in ([\d,]+) blocks/.exec(field(run, "peak live bytes"))![1]} blocks, after event ${json.peakEvent.toLocaleString("en-US")}`);
    // the words and entries of half the table are never freed: 2 blocks each
    expect(json.liveAtEndBlocks).toBeGreaterThan(2 * 6000);
    expect(field(run, "replay it")).toBe("tsmalloc replay workload.trace.gz --verify --stats");
  });

  it("records the calls of threads that free each other's blocks in one consistent order", async () => {
    const out = temp.file("threads.trace.gz");
    // one arena and no per-thread cache: a block one thread frees is the next another thread gets,
    // so that a free written after the C library's free (not before) shows here (it did: 4 or 5 a run)
    const run = await record(out, ["--", compiled("threads"), "40000"], { GLIBC_TUNABLES: "glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1" });
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toBe("4 threads, 40000 steps each\n");
    // no address handed out twice while live, no free of a block never seen: the order is the allocator's
    expect(field(run, "rewritten")).toBe("nothing");
    expect(field(run, "left out")).toMatch(/^\d+ free\(NULL\)$/);
    const json = await replayVerified(out);
    expect(json.events).toBeGreaterThan(4 * 40000 * 2);
  });

  it("exits with the program's status, and writes the trace of a program that abort()s", async () => {
    const exited = await record(temp.file("exit3.trace.gz"), ["--", compiled("workload"), "500", "exit3"]);
    expect(exited.status, describeRun(exited)).toBe(3);
    expect(exited.stderr).toContain("workload exited with status 3 after");
    await replayVerified(temp.file("exit3.trace.gz"));
    const aborted = await record(temp.file("abort.trace.gz"), ["--", compiled("workload"), "500", "abort"]);
    expect(aborted.status, describeRun(aborted)).toBe(134);
    expect(aborted.stderr).toContain("workload was killed by SIGABRT (exit status 134) after");
    const json = await replayVerified(temp.file("abort.trace.gz"));
    expect(json.liveAtEndBlocks).toBeGreaterThan(0);
  });
});

describe("tsmalloc record and signals", () => {
  /** Starts `tsmalloc record` of a program that waits for a signal, in a process group of its own; resolves once it has made its allocations and waits. */
  async function waiting(out: string): Promise<{ readonly child: ChildProcess; readonly done: Promise<CliRun> }> {
    const child = spawn(process.execPath, [MAIN_JS, "record", "-o", out, "--", compiled("workload"), "200", "wait"], { cwd: temp.path, env: childEnv(ENV), detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<CliRun>((resolve) => child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr })));
    await new Promise<void>((resolve) => child.stdout!.on("data", (chunk: Buffer) => ((stdout += chunk.toString()), stdout.includes("started") && resolve())));
    return { child, done };
  }

  it("passes SIGTERM on to the program, then writes the trace and exits as the program did", async () => {
    const out = temp.file("term.trace.gz");
    const { child, done } = await waiting(out);
    child.kill("SIGTERM");
    const run = await done;
    expect(run.status, describeRun(run)).toBe(143);
    expect(run.stderr).toMatch(/tsmalloc record: \S*workload was killed by SIGTERM \(exit status 143\) after/);
    expect(field(run, "trace")).toMatch(/^term\.trace\.gz: [\d,]+ events of \S+workload \(pid \d+\)$/);
    await replayVerified(out);
  });

  it("lets Ctrl-C (SIGINT to the whole group) end the program, and writes the trace", async () => {
    const out = temp.file("interrupt.trace.gz");
    const { child, done } = await waiting(out);
    process.kill(-child.pid!, "SIGINT");
    const run = await done;
    expect(run.status, describeRun(run)).toBe(130);
    expect(run.stderr).toMatch(/tsmalloc record: \S*workload was killed by SIGINT \(exit status 130\) after/);
    await replayVerified(out);
  });
});

describe("tsmalloc record of processes that fork and exec", () => {
  it("records the parent only, and says how many children were not recorded", async () => {
    const out = temp.file("fork.trace.gz");
    const run = await record(out, ["--", compiled("fork")]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(relative(linesOf(out), 1111).slice(-6)).toEqual(["a K0 1111", "a K1 2222", "f K1", "a K2 4444", "f K2", "f K0"]);
    expect(field(run, "forks")).toBe("1 fork(): the children were not recorded (--follow-forks records them)");
    expect(readdirSync(temp.path).filter((name) => name.startsWith("fork."))).toEqual(["fork.trace.gz"]);
    await replayVerified(out);
  });

  it("with --follow-forks, writes the child's trace and what it execs beside the parent's", async () => {
    const out = temp.file("follow.trace.gz");
    const run = await record(out, ["--follow-forks", "--", compiled("fork"), "exec", compiled("workload"), "300"]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toBe("225 distinct words\n");
    const siblings = readdirSync(temp.path).filter((name) => /^follow\.\d+\.\d\.trace\.gz$/.test(name)).sort();
    expect(siblings.map((name) => name.replace(/\.\d+\./, ".PID."))).toEqual(["follow.PID.0.trace.gz", "follow.PID.1.trace.gz"]);
    // the forked copy: it freed its parent's block (left out) and made and freed one of its own
    const forked = linesOf(temp.file(siblings[0]!));
    expect(forked[1]).toMatch(/^# forked from pid \d+: frees of the blocks it had before the fork are left out$/);
    expect(forked.filter((line) => !line.startsWith("#"))).toEqual(["a 0 3333", "f 0"]);
    expect(linesOf(temp.file(siblings[1]!))[0]).toMatch(/^# recorded by tsmalloc record from \S+workload \(pid \d+, its program 2\): \S+workload 300$/);
    expect(run.stderr).toMatch(/\n  also written +follow\.\d+\.0\.trace\.gz: 2 events of fork \(forked\)\n +follow\.\d+\.1\.trace\.gz: [\d,]+ events of workload\n/);
    for (const name of ["follow.trace.gz", ...siblings]) await replayVerified(temp.file(name));
  });

  it("writes the program a process execs into: the last program the started process ran", async () => {
    const out = temp.file("exec.trace.gz");
    const run = await record(out, ["--", "sh", "-c", `exec ${compiled("workload")} 200`]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(field(run, "trace")).toMatch(/^exec\.trace\.gz: [\d,]+ events of \S+\/workload \(pid \d+\)$/);
    expect(field(run, "before it")).toMatch(/^the process ran (da)?sh \([\d,]+ calls?\), then exec'd: recorded, not written \(--follow-forks writes them\)$/);
    await replayVerified(out);
  });
});

describe("tsmalloc record of python3", () => {
  const script = "import json\nrows = [{'id': i, 'name': 'row %d' % i, 'tags': list(range(i % 7))} for i in range(3000)]\nprint(len(json.dumps(rows)))";

  it("sets PYTHONMALLOC=malloc and says so; the trace replays with --verify", async () => {
    const out = temp.file("python.trace.gz");
    const run = await record(out, ["--", "python3", "-c", script]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toBe("157620\n");
    expect(run.stderr).toMatch(/^tsmalloc record: built the recorder with cc into \S+record-[0-9a-f]{16}-\w+\.so \(once for this version\)\n|^tsmalloc record: PYTHONMALLOC/);
    expect(run.stderr).toContain("tsmalloc record: PYTHONMALLOC=malloc, so that every Python object reaches malloc (pymalloc would serve most of them itself); set PYTHONMALLOC to choose otherwise\n");
    expect(field(run, "trace")).toMatch(/^python\.trace\.gz: [\d,]+ events of \S+python3[.\d]* \(pid \d+\)$/);
    expect(linesOf(out).filter((line) => line.startsWith("#")).slice(0, 8)).toContain("# PYTHONMALLOC=malloc");
    const json = await replayVerified(out);
    expect(json.events).toBeGreaterThan(50_000);
  });

  it("keeps the PYTHONMALLOC the user set, and says nothing of it", async () => {
    const out = temp.file("pymalloc.trace.gz");
    const run = await record(out, ["--", "python3", "-c", script], { PYTHONMALLOC: "pymalloc" });
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stderr).not.toContain("PYTHONMALLOC");
    const json = await replayVerified(out);
    // pymalloc served the objects: far fewer calls reached malloc
    expect(json.events).toBeLessThan(20_000);
  });
});

describe("tsmalloc record's errors: one line, exit 2", () => {
  it("without a C compiler (and no recorder built yet)", async () => {
    const run = await runCli(["record", "--", "true"], { cwd: temp.path, env: { XDG_CACHE_HOME: temp.file("empty-cache"), CC: "/nonexistent/cc" } });
    expect(expectFailure(run, 2)).toBe("tsmalloc: record: no C compiler: CC=/nonexistent/cc cannot be run (the recorder is C, built on first use; set CC to a compiler, or unset it to use cc)");
  });

  it("when the compiler cannot build it", async () => {
    const run = await runCli(["record", "--", "true"], { cwd: temp.path, env: { XDG_CACHE_HOME: temp.file("empty-cache"), CC: "cc -DTSMALLOC_BROKEN -include /nonexistent.h" } });
    expect(expectFailure(run, 2)).toMatch(/^tsmalloc: record: the C compiler \(cc -DTSMALLOC_BROKEN -include \/nonexistent\.h\) could not build the recorder \S+tsmalloc-record\.c: .*nonexistent\.h/);
  });

  it("for a program that is not there, or that ignores LD_PRELOAD (statically linked)", async () => {
    expect(expectFailure(await record(temp.file("none.trace.gz"), ["--", "no-such-program-here"]), 2)).toBe("tsmalloc: record: cannot run no-such-program-here: no such program");
    const run = await record(temp.file("static.trace.gz"), ["--", compiled("workload-static", ["-static"]), "10"]);
    expect(run.status, describeRun(run)).toBe(2);
    expect(run.stdout).toBe("8 distinct words\n");
    expect(run.stderr).toBe(`tsmalloc: record: ${temp.file("workload-static")} made no call the recorder saw: it did not load it (a statically linked program, or a setuid one, ignores LD_PRELOAD)\n`);
  });

  it.each([
    [[], "tsmalloc: record: missing the program to record (tsmalloc record [-o FILE] -- COMMAND [ARGS...]) (see tsmalloc record --help)"],
    [["-o"], "tsmalloc: record: -o needs a file (see tsmalloc record --help)"],
    [["--output="], "tsmalloc: record: --output needs a file (see tsmalloc record --help)"],
    [["--verbose", "--", "true"], "tsmalloc: record: unknown option --verbose (see tsmalloc record --help)"],
    [["-o", "x.trace.gz", "--"], "tsmalloc: record: missing the program to record (tsmalloc record [-o FILE] -- COMMAND [ARGS...]) (see tsmalloc record --help)"],
  ])("for the command line %j", async (args, message) => {
    expect(expectFailure(await runCli(["record", ...args], { cwd: temp.path, env: ENV }), 2)).toBe(message);
  });

  it("where the output's folder cannot be written", async () => {
    const run = await record(temp.file("no/such/folder/x.trace.gz"), ["--", "true"]);
    expect(expectFailure(run, 2)).toMatch(/^tsmalloc: record: cannot write beside \S+x\.trace\.gz: ENOENT/);
  });
});

describe("tsmalloc record's parts", () => {
  it("reads its command line: options, then the program after -- or at the first argument that is not an option", () => {
    expect(parseRecordLine(["--", "python3", "-c", "x"])).toEqual({ output: null, followForks: false, command: ["python3", "-c", "x"] });
    expect(parseRecordLine(["-o", "a.gz", "-f", "prog", "--flag", "--", "x"])).toEqual({ output: "a.gz", followForks: true, command: ["prog", "--flag", "--", "x"] });
    expect(parseRecordLine(["--output=b.gz", "--follow-forks", "--", "--weird-name"])).toEqual({ output: "b.gz", followForks: true, command: ["--weird-name"] });
    expect(usageMessage(() => parseRecordLine(["-x", "prog"]))).toBe("record: unknown option -x (see tsmalloc record --help)");
  });

  it("names its files", () => {
    expect(defaultOutput("/usr/bin/python3")).toBe("python3.trace.gz");
    expect(siblingOutput("/tmp/my.trace.gz", 42, 0)).toBe("/tmp/my.42.0.trace.gz");
    expect(siblingOutput("out.gz", 42, 1)).toBe("out.42.1.gz");
    expect(siblingOutput("dir/plain", 7, 2)).toBe("dir/plain.7.2.trace.gz");
    expect(siblingOutput("x.trace", 7, 0)).toBe("x.7.0.trace");
  });

  it("runs on Linux with glibc only", () => {
    expect(recordUnsupported("linux", "2.36")).toBeNull();
    expect(recordUnsupported("linux", null)).toBe("record: needs Linux with glibc (an LD_PRELOAD recorder of glibc's malloc family); this Linux's C library is not glibc");
    expect(recordUnsupported("darwin", null)).toBe("record: needs Linux with glibc (an LD_PRELOAD recorder of the C library's malloc family); this is darwin");
  });

  it("builds its recorder into the cache folder under the source's hash", async () => {
    expect(cacheFolder({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" })).toBe("/x/cache/tsmalloc");
    expect(cacheFolder({ XDG_CACHE_HOME: "relative", HOME: "/home/u" })).toBe("/home/u/.cache/tsmalloc");
    expect(cacheFolder({ HOME: "/home/u" })).toBe("/home/u/.cache/tsmalloc");
    expect(shimName("a")).not.toBe(shimName("b"));
    const name = shimName(readFileSync(SHIM_SOURCE, "utf8"));
    expect(existsSync(join(CACHE, "tsmalloc", name)) || (await record(temp.file("t.trace.gz"), ["--", "true"])).status === 0).toBe(true);
    expect(readdirSync(join(CACHE, "tsmalloc"))).toEqual([name]);
  });

  it("tells a Python program from another", () => {
    const env = { PATH: "/usr/bin:/bin" };
    expect(isPythonCommand("python3", env)).toBe(true);
    expect(isPythonCommand("/opt/python3.12", env)).toBe(true);
    expect(isPythonCommand("pypy3", env)).toBe(true);
    expect(isPythonCommand("sh", env)).toBe(false);
    const script = temp.writePlain("tool", "#!/usr/bin/env python3\nprint(1)\n");
    expect(isPythonCommand(script, env)).toBe(true);
    expect(isPythonCommand("tool", { PATH: temp.path })).toBe(true);
    expect(isPythonCommand(temp.writePlain("shell-tool", "#!/bin/sh\necho\n"), env)).toBe(false);
    expect(isPythonCommand("no-such-thing", env)).toBe(false);
  });
});

/**
 * The events of `lines` with their block ids as K0, K1, ... counted from the id of the first block
 * of `size` bytes (ids before it are left as they are); comments kept.
 */
function relative(lines: readonly string[], size: number): string[] {
  const base = Number(lines.find((line) => new RegExp(`^[acm] \\d+ (\\d+ )?${size}$`).test(line))!.split(" ")[1]);
  const id = (text: string): string => (Number(text) >= base ? `K${Number(text) - base}` : text);
  return lines.map((line) => {
    const fields = line.split(" ");
    if (line.startsWith("#")) return line;
    const ids = fields[0] === "r" ? 2 : 1; // r OLDID NEWID SIZE; the others: OP ID ...
    return fields.map((field, i) => (i >= 1 && i <= ids ? id(field) : field)).join(" ");
  }).filter((line) => !line.startsWith("#") || line.includes("returned NULL"));
}
