/*
 * `tsmalloc wasm`, through the built command: the C examples of @tsmalloc/wasm (compiled here with
 * its compileC, into this file's temporary directory) run on a tsmalloc heap under node:wasi, with
 * the command's streams, its exit status, its report of a heap bug, and its one-line errors.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { compileC } from "@tsmalloc/wasm/compile";
import { describe, expect, it } from "vitest";
import { COMMAND_HELP } from "../src/help.ts";
import { CLI_DIR, describeRun, expectFailure, expectOk, jsonOf, runCli } from "./helpers.ts";

const scratch = mkdtempSync(join(tmpdir(), "tsmalloc-cli-wasm-"));
const wasmPackage = dirname(createRequire(import.meta.url).resolve("@tsmalloc/wasm/package.json"));

/** A C file built with the shim into the scratch directory (once per file). */
function built(source: string, name: string, shim = true): string {
  const output = join(scratch, `${name}.wasm`);
  try {
    readFileSync(output);
  } catch {
    compileC({ sources: [source], output, shim });
  }
  return output;
}

const example = (name: string): string => built(join(wasmPackage, "examples", `${name}.c`), name);
const envProgram = (): string => built(join(CLI_DIR, "test", "fixtures", "wasm-env.c"), "wasm-env");

describe("tsmalloc wasm", () => {
  it("runs a program on a tsmalloc heap, its arguments after --, its output the command's", async () => {
    const run = await runCli(["wasm", example("binary-trees"), "--", "6"]);
    expect(expectOk(run)).toBe("stretch tree of depth 7\t check: 255\n64\t trees of depth 4\t check: 1984\n16\t trees of depth 6\t check: 2032\nlong lived tree of depth 6\t check: 127\n");
  });

  it("exits with the program's status, and hands it --help after --", async () => {
    const run = await runCli(["wasm", example("heap-bugs"), "--", "--help"]);
    expect(run.status, describeRun(run)).toBe(2);
    expect(run.stderr).toBe("usage: heap-bugs overflow|use-after-free\n");
  });

  it("stops a heap overflow under pymalloc_debug with CPython's report, and exits 134 as abort() does", async () => {
    const run = await runCli(["wasm", example("heap-bugs"), "--allocator", "pymalloc_debug", "--", "overflow"]);
    expect(run.status, describeRun(run)).toBe(134);
    expect(run.stdout).toBe('copied "tsmalloc!!" into a 10-byte block\n');
    expect(run.stderr).toMatch(/^tsmalloc: the allocator stopped the program: debugRawFree: bad trailing pad byte\n\nDebug memory block at address p=0x[0-9a-f]+: API 'm'\n {4}10 bytes originally requested\n/);
    expect(run.stderr).toContain("        at tail+0: 0x00 *** OUCH\n");
    expect(run.stderr).toMatch(/\nFatal tsmalloc error: debugRawFree: bad trailing pad byte\n$/);
  });

  it("ends the report with the C functions that allocated the block with --tracemalloc N", async () => {
    const plain = await runCli(["wasm", example("heap-bugs"), "--allocator", "pymalloc_debug", "--", "overflow"]);
    expect(plain.stderr).toContain("\nEnable tracemalloc to get the memory block allocation traceback\n\nFatal tsmalloc error: ");
    const run = await runCli(["wasm", example("heap-bugs"), "--allocator", "pymalloc_debug", "--tracemalloc", "2", "--", "overflow"]);
    expect(run.status, describeRun(run)).toBe(134);
    expect(run.stderr).toMatch(
      /\n {4}Data at p: 74 73 6d 61 6c 6c 6f 63 21 21\n\nMemory block allocated at \(most recent call first\):\n {2}File "wasm:\/\/wasm\/[0-9a-f]+:overflow", line \d+\n {2}File "wasm:\/\/wasm\/[0-9a-f]+:main", line \d+\n\nFatal tsmalloc error: debugRawFree: bad trailing pad byte\n$/,
    );
  });

  it("traces with TSMALLOC_TRACEMALLOC=N too (--tracemalloc wins), and refuses a bad number of frames", async () => {
    const run = await runCli(["wasm", example("heap-bugs"), "--allocator", "pymalloc_debug", "--", "overflow"], { env: { TSMALLOC_TRACEMALLOC: "1" } });
    expect(run.status, describeRun(run)).toBe(134);
    expect(run.stderr).toMatch(/\nMemory block allocated at \(most recent call first\):\n {2}File "wasm:\/\/wasm\/[0-9a-f]+:overflow", line \d+\n\nFatal /);
    const off = await runCli(["wasm", example("heap-bugs"), "--allocator", "pymalloc_debug", "--tracemalloc", "0", "--", "overflow"], { env: { TSMALLOC_TRACEMALLOC: "1" } });
    expect(off.stderr).toContain("\nEnable tracemalloc to get the memory block allocation traceback\n");
    for (const [args, env, source] of [
      [["--tracemalloc", "x"], {}, "--tracemalloc"],
      [["--tracemalloc", "65536"], {}, "--tracemalloc"],
      [["--tracemalloc", ""], {}, "--tracemalloc"],
      [[], { TSMALLOC_TRACEMALLOC: "-1" }, "TSMALLOC_TRACEMALLOC"],
      [["--tracemalloc", "2"], { TSMALLOC_TRACEMALLOC: "five" }, "TSMALLOC_TRACEMALLOC"],
    ] as const) {
      const bad = await runCli(["wasm", example("heap-bugs"), ...args, "--", "overflow"], { env });
      expect(expectFailure(bad, 2)).toMatch(new RegExp(`^tsmalloc: wasm: ${source} needs a number of frames from 0 \\(off\\) to 65535, got "`));
    }
  });

  it("takes the configuration from TSMALLOC, as CPython takes PYTHONMALLOC", async () => {
    const quiet = await runCli(["wasm", example("heap-bugs"), "--", "overflow"]);
    expect(expectOk(quiet)).toContain("freed it; nobody noticed\n");
    const caught = await runCli(["wasm", example("heap-bugs"), "--", "overflow"], { env: { TSMALLOC: "malloc_debug" } });
    expect(caught.status, describeRun(caught)).toBe(134);
    expect(caught.stderr).toContain("at tail+0: 0x00 *** OUCH");
  });

  it("stops a double free without hooks too, as glibc does", async () => {
    const run = await runCli(["wasm", example("heap-bugs"), "--allocator", "malloc", "--", "use-after-free"]);
    expect(run.status, describeRun(run)).toBe(134);
    expect(run.stderr).toMatch(/^tsmalloc: the allocator stopped the program: free: 0x[0-9a-f]+ was already freed \(double free\)\n$/);
  });

  it("prints the statistics after the program with --stats, on stderr", async () => {
    const run = await runCli(["wasm", example("json-tree"), "--stats", "--allocator", "default", "--", "200"]);
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toContain("values: 2401 (objects 400, arrays 201, strings 800, numbers 600), depth 4\n");
    expect(run.stderr).toMatch(/^\nstatistics after the program \(json-tree\.wasm, "default", exit status 0\):\n\nSmall block threshold = 512, in 32 size classes\.\n/);
    expect(run.stderr).toContain("system malloc (the RAW domain, with pymalloc's requests over 512 bytes):\n");
  });

  it("gives the program the variables of --env and the directories of --dir, and nothing else", async () => {
    writeFileSync(join(scratch, "note.txt"), "a line from the host\n");
    const run = await runCli(["wasm", envProgram(), "--env", "GREETING=hello there", "--dir", scratch, "--", join(scratch, "note.txt")]);
    expect(expectOk(run)).toBe(`GREETING=hello there\n${join(scratch, "note.txt")}: a line from the host\n`);
    const closed = await runCli(["wasm", envProgram(), "--", join(scratch, "note.txt")], { env: { GREETING: "not passed on" } });
    expect(closed.status, describeRun(closed)).toBe(3);
    expect(closed.stdout).toBe("GREETING=(unset)\n");
  });

  it.each([
    [["wasm"], "tsmalloc: wasm: missing the program (tsmalloc wasm <prog.wasm> [-- ARGS...]) (see tsmalloc wasm --help)"],
    [["wasm", "a.wasm", "b.wasm"], 'tsmalloc: wasm: unexpected argument "b.wasm" (see tsmalloc wasm --help)'],
    [["wasm", "a.wasm", "--allocator", "mimalloc"], 'tsmalloc: wasm: --allocator: allocator "mimalloc" is not available: this build of tsmalloc has no mimalloc-style allocator; expected one of default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug (see tsmalloc wasm --help)'],
    [["wasm", "a.wasm", "--env", "GREETING"], 'tsmalloc: wasm: --env needs NAME=VALUE, got "GREETING" (see tsmalloc wasm --help)'],
    [["wasm", "a.wasm", "--record", ""], "tsmalloc: wasm: --record needs a file (see tsmalloc wasm --help)"],
    [["wasm", "a.wasm", "--record"], "tsmalloc: wasm: option --record needs a value (see tsmalloc wasm --help)"],
  ])("%j: exit 2 and one line", async (args, line) => {
    expect(expectFailure(await runCli(args), 2)).toBe(line);
  });

  it("refuses a file it cannot read, bytes that are no module, and a module built without the shim", async () => {
    expect(expectFailure(await runCli(["wasm", join(scratch, "missing.wasm")]), 2)).toMatch(/^tsmalloc: wasm: cannot read .*missing\.wasm: ENOENT/);
    writeFileSync(join(scratch, "text.wasm"), "not a module");
    expect(expectFailure(await runCli(["wasm", join(scratch, "text.wasm")]), 2)).toMatch(/^tsmalloc: wasm: .*text\.wasm: instantiate: the bytes are not a valid WebAssembly module/);
    const own = built(join(wasmPackage, "examples", "binary-trees.c"), "binary-trees-own", false);
    expect(expectFailure(await runCli(["wasm", own]), 2)).toMatch(/^tsmalloc: wasm: .*: instantiate: the module defines and exports its own memory; link it with -Wl,--import-memory/);
  });

  it("records the program's calls with --record: tsmalloc replay --verify gives the heap the program left", async () => {
    const trace = join(scratch, "json-tree.trace.gz");
    const run = await runCli(["wasm", example("json-tree"), "--record", trace, "--stats", "--", "200"]);
    expect(run.status, describeRun(run)).toBe(0);
    const summary = /^tsmalloc: recorded ([\d,]+) events of json-tree\.wasm on the MEM domain into (\S+) \(left out: nothing\); replay it: tsmalloc replay \S+ --verify\n/.exec(run.stderr);
    expect(summary, run.stderr).not.toBeNull();
    expect(summary![2]).toBe(trace);
    const lines = gunzipSync(readFileSync(trace)).toString("utf8").split("\n");
    expect(lines[0]).toBe('# recorded by tsmalloc wasm from json-tree.wasm 200 under "default"');
    expect(lines[1]).toBe("# recorded by @tsmalloc/trace from the mem domain (its allocator: pymalloc)");
    const replayed = jsonOf<{ verified: boolean; events: number; statistics: { text: string } }>(await runCli(["replay", trace, "--verify", "--stats", "--json"]));
    expect(replayed.verified).toBe(true);
    expect(replayed.events).toBe(Number(summary![1]!.replaceAll(",", "")));
    // pymalloc's table after the replay is the one after the program
    const pymallocTable = (text: string): string => text.slice(text.indexOf("Small block threshold"), text.indexOf("system malloc"));
    expect(pymallocTable(replayed.statistics.text)).toBe(pymallocTable(run.stderr));
    expect(pymallocTable(run.stderr)).toMatch(/^Small block threshold = 512/);
  });

  it("writes the calls before the one the debug hooks stopped, which replay without a fault", async () => {
    const trace = join(scratch, "overflow.trace");
    const run = await runCli(["wasm", example("heap-bugs"), "--allocator", "pymalloc_debug", "--record", trace, "--", "overflow"]);
    expect(run.status, describeRun(run)).toBe(134);
    expect(run.stderr).toMatch(/\ntsmalloc: recorded [\d,]+ events? of heap-bugs\.wasm on the MEM domain into \S+overflow\.trace \(left out: nothing\)/);
    const events = readFileSync(trace, "utf8").split("\n").filter((line) => /^[acrfm] /.test(line));
    expect(events.at(-1)).toMatch(/^a \d+ 10$/); // the overflowed block, whose free the hooks refused
    expect(jsonOf<{ verified: boolean }>(await runCli(["replay", trace, "--verify", "--json"])).verified).toBe(true);
  });

  it("refuses a --record file it cannot write, before the program runs", async () => {
    const run = await runCli(["wasm", example("binary-trees"), "--record", join(scratch, "no", "such", "x.trace"), "--", "4"]);
    expect(expectFailure(run, 2)).toMatch(/^tsmalloc: wasm: cannot write \S+x\.trace: ENOENT/);
  });

  it("has a help that names its options", async () => {
    const text = expectOk(await runCli(["wasm", "--help"]));
    expect(text).toBe(COMMAND_HELP.wasm);
    for (const option of ["--allocator NAME", "--stats", "--dir DIR", "--env NAME=VALUE", "--record FILE"]) expect(text).toContain(`  ${option}`);
  });
});
