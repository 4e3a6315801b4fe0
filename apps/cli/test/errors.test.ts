/*
 * Every way to give the command bad input ends the same way: exit 2, nothing on stdout, exactly
 * one line on stderr that starts `tsmalloc: ` and has no stack trace, saying what was wrong (and
 * for a bad trace line, which line).
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { expectFailure, PY_COMPILEALL, runCli, TempDir } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

const good = temp.writePlain("good.trace", "a 0 16\na 1 32\nf 0\n");
const badLine = temp.writePlain("bad-line.trace", "a 0 16\na 1 x\n");
const badLineGz = temp.writeGzip("bad-line.trace.gz", "a 0 16\na 1 x\n");
const badLater = temp.writeGzip("bad-later.trace.gz", `${"a 0 16\nf 0\n".repeat(5000)}a 1 16\nq 1\n`);
const neverAllocated = temp.writePlain("never-allocated.trace", "a 0 16\nf 5\n");
const reused = temp.writePlain("reused.trace", "a 0 16\na 0 16\n");
const cutOff = temp.writePlain("cut-off.trace.gz", readFileSync(PY_COMPILEALL).subarray(0, 4096));
const garbage = temp.writePlain("garbage.trace.gz", Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from("this is not deflate data at all")]));
const empty = temp.writePlain("empty.trace", "");
const emptyGz = temp.writeGzip("empty.trace.gz", "");
const wideAlignment = temp.writePlain("wide-alignment.trace", "a 0 16\nm 1 64 32\n");
// by hand: comments and empty lines are not events, but they are lines
const handWritten = temp.writePlain("hand.trace", "# three events\n\na 0 16\n\n# then the bad one\nr 0 1\n");
const wideAlignmentLater = temp.writePlain("wide-alignment-later.trace", "# a comment first\na 0 16\nm 1 64 32\n");

const CONFIGS = "default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug";

/** A label, the arguments, the environment, and the one line of stderr (exact, or a pattern). */
type ErrorCase = readonly [string, readonly string[], Readonly<Record<string, string>>, string | RegExp];

const TRACE_ERRORS: readonly ErrorCase[] = [
  ["a missing file", ["replay", temp.file("missing.trace")], {}, `tsmalloc: cannot read ${temp.file("missing.trace")}: no such file, nor a bundled trace (py_compileall, gcc_cc1_wrapt)`],
  ["a name that is no bundled trace", ["stats", "py_compile"], {}, "tsmalloc: cannot read py_compile: no such file, nor a bundled trace (py_compileall, gcc_cc1_wrapt)"],
  ["a directory", ["replay", temp.path], {}, `tsmalloc: cannot read ${temp.path}: is a directory`],
  ["a malformed line", ["replay", badLine], {}, `tsmalloc: ${badLine}:2: "a 1 x": SIZE "x" is not a decimal number`],
  ["a malformed line, gzip", ["replay", badLineGz], {}, `tsmalloc: ${badLineGz}:2: "a 1 x": SIZE "x" is not a decimal number`],
  ["a malformed line far into a gzip file", ["replay", badLater], {}, `tsmalloc: ${badLater}:10002: "q 1": unknown event "q" (the events are a, c, r, f and m; # starts a comment)`],
  ["a malformed line, to stats", ["stats", badLine], {}, `tsmalloc: ${badLine}:2: "a 1 x": SIZE "x" is not a decimal number`],
  ["a malformed line, to bench", ["bench", badLine, "--quick"], {}, `tsmalloc: ${badLine}:2: "a 1 x": SIZE "x" is not a decimal number`],
  ["a missing field after comments and empty lines", ["replay", handWritten], {}, `tsmalloc: ${handWritten}:6: "r 0 1": SIZE is missing (r OLDID NEWID SIZE)`],
  ["a free of an id never allocated", ["replay", neverAllocated], {}, `tsmalloc: ${neverAllocated}:2: "f 5": ID 5 is not a live block (never allocated, or freed already)`],
  ["an id allocated twice", ["replay", reused], {}, `tsmalloc: ${reused}:2: "a 0 16": ID 0 is already a live block`],
  ["a cut-off gzip file", ["replay", cutOff], {}, new RegExp(`^tsmalloc: ${escape(cutOff)}: not a valid gzip file \\(.+\\)$`)],
  ["gzip's magic, then garbage", ["replay", garbage], {}, new RegExp(`^tsmalloc: ${escape(garbage)}: not a valid gzip file \\(.+\\)$`)],
  ["an empty file", ["replay", empty], {}, `tsmalloc: ${empty}: the trace has no events`],
  ["an empty gzip file", ["replay", emptyGz], {}, `tsmalloc: ${emptyGz}: the trace has no events`],
  ["an alignment above 16", ["replay", wideAlignment], {}, new RegExp(`^tsmalloc: ${escape(wideAlignment)}:2: an alignment of 64 bytes; the MEM domain aligns blocks to 16 bytes`)],
  ["an alignment above 16, on line 3", ["replay", wideAlignmentLater], {}, new RegExp(`^tsmalloc: ${escape(wideAlignmentLater)}:3: an alignment of 64 bytes`)],
];

const OPTION_ERRORS: readonly ErrorCase[] = [
  ["an unknown allocator", ["replay", good, "--allocator", "nonsense"], {}, `tsmalloc: replay: --allocator: unknown allocator "nonsense"; expected one of ${CONFIGS} (see tsmalloc replay --help)`],
  ["an unknown allocator in TSMALLOC", ["replay", good], { TSMALLOC: "nonsense" }, `tsmalloc: replay: TSMALLOC: unknown allocator "nonsense"; expected one of ${CONFIGS} (see tsmalloc replay --help)`],
  ["an unknown allocator in TSMALLOC, to stats", ["stats", good], { TSMALLOC: "Malloc" }, /^tsmalloc: stats: TSMALLOC: unknown allocator "Malloc"/],
  ["the reserved mimalloc", ["replay", good, "--allocator", "mimalloc"], {}, /^tsmalloc: replay: --allocator: allocator "mimalloc" is not available/],
  ["the reserved mimalloc in TSMALLOC", ["replay", good], { TSMALLOC: "mimalloc" }, /^tsmalloc: replay: TSMALLOC: allocator "mimalloc" is not available/],
  ["an unknown option", ["replay", good, "--bogus"], {}, "tsmalloc: replay: unknown option --bogus (see tsmalloc replay --help)"],
  ["an unknown short option", ["stats", "-x"], {}, "tsmalloc: stats: unknown option -x (see tsmalloc stats --help)"],
  ["an option without its value", ["replay", good, "--allocator"], {}, "tsmalloc: replay: option --allocator needs a value (see tsmalloc replay --help)"],
  ["a value given to a flag", ["replay", good, "--verify=yes"], {}, "tsmalloc: replay: option --verify takes no value (see tsmalloc replay --help)"],
  ["no trace", ["replay"], {}, /^tsmalloc: replay: missing the trace file/],
  ["an extra argument", ["replay", good, "extra"], {}, 'tsmalloc: replay: unexpected argument "extra" (see tsmalloc replay --help)'],
  ["an extra argument to stats", ["stats", good, good], {}, `tsmalloc: stats: unexpected argument "${good}" (see tsmalloc stats --help)`],
  ["--runs 0", ["replay", good, "--runs", "0"], {}, 'tsmalloc: replay: --runs must be a whole number of at least 1, got "0" (see tsmalloc replay --help)'],
  ["--runs 1.5", ["replay", good, "--runs", "1.5"], {}, 'tsmalloc: replay: --runs must be a whole number of at least 1, got "1.5" (see tsmalloc replay --help)'],
  ["--limit=0", ["replay", good, "--limit=0"], {}, 'tsmalloc: replay: --limit must be a whole number of at least 1, got "0" (see tsmalloc replay --help)'],
  ["--limit=-3", ["stats", good, "--limit=-3"], {}, /^tsmalloc: stats: --limit must be a whole number of at least 1, got "-3"/],
  ["--limit -5 (a negative value after a space)", ["replay", good, "--limit", "-5"], {}, 'tsmalloc: replay: --limit must be a whole number of at least 1, got "-5" (see tsmalloc replay --help)'],
  ["--runs -1", ["replay", good, "--runs", "-1"], {}, 'tsmalloc: replay: --runs must be a whole number of at least 1, got "-1" (see tsmalloc replay --help)'],
  ["--limit -0.5", ["stats", good, "--limit", "-0.5"], {}, /^tsmalloc: stats: --limit must be a whole number of at least 1, got "-0\.5"/],
  ["--limit with an option after it", ["replay", good, "--limit", "--verify"], {}, "tsmalloc: replay: option --limit needs a value (see tsmalloc replay --help)"],
  ["--at middle", ["replay", good, "--at", "middle"], {}, 'tsmalloc: replay: --at must be "end" or "peak", got "middle" (see tsmalloc replay --help)'],
  ["--at middle, to stats", ["stats", good, "--at", "middle"], {}, /^tsmalloc: stats: --at must be "end" or "peak"/],
];

const COMMAND_ERRORS: readonly ErrorCase[] = [
  ["an unknown command", ["frobnicate"], {}, 'tsmalloc: unknown command "frobnicate"; the commands are replay, stats, bench, demo, visualize, wasm, record, help (see tsmalloc --help)'],
  ["an option before the command", ["--allocator", "malloc", "replay"], {}, "tsmalloc: unknown option --allocator before the command (see tsmalloc --help)"],
  ["help on an unknown command", ["help", "nonsense"], {}, 'tsmalloc: help: unknown command "nonsense"; the commands are replay, stats, bench, demo, visualize, wasm, record, help (see tsmalloc help --help)'],
  ["help on two commands", ["help", "replay", "stats"], {}, 'tsmalloc: help: unexpected argument "stats" (see tsmalloc help --help)'],
];

const BENCH_ERRORS: readonly ErrorCase[] = [
  ["--allocators with an empty name", ["bench", "--allocators", "default,,malloc"], {}, 'tsmalloc: bench: --allocators has an empty name in "default,,malloc" (see tsmalloc bench --help)'],
  ["--allocators empty", ["bench", "--allocators="], {}, /^tsmalloc: bench: --allocators has an empty name in ""/],
  ["--allocators with an unknown name", ["bench", "--allocators", "default,jemalloc"], {}, /^tsmalloc: bench: --allocators: unknown allocator "jemalloc"; expected some of default, .*thi\.ng\/malloc, uint8array/],
  ["--allocators naming one twice", ["bench", "--allocators", "malloc,default,malloc"], {}, 'tsmalloc: bench: --allocators names "malloc" twice (see tsmalloc bench --help)'],
  ["--json with --markdown", ["bench", "--json", "--markdown"], {}, "tsmalloc: bench: --json and --markdown cannot go together (see tsmalloc bench --help)"],
  ["--budget 0", ["bench", "--budget", "0"], {}, 'tsmalloc: bench: --budget must be a positive number of seconds, got "0" (see tsmalloc bench --help)'],
  ["--budget ten", ["bench", "--budget", "ten"], {}, /^tsmalloc: bench: --budget must be a positive number of seconds, got "ten"/],
  ["--runs 0", ["bench", "--runs", "0"], {}, /^tsmalloc: bench: --runs must be a whole number of at least 1, got "0"/],
  ["--budget -2", ["bench", "--budget", "-2"], {}, 'tsmalloc: bench: --budget must be a positive number of seconds, got "-2" (see tsmalloc bench --help)'],
  ["a missing trace", ["bench", temp.file("missing.trace"), "--quick"], {}, `tsmalloc: cannot read ${temp.file("missing.trace")}: no such file, nor a bundled trace (py_compileall, gcc_cc1_wrapt)`],
];

function escape(text: string): string {
  return text.replaceAll(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

async function expectUsageError(args: readonly string[], env: Readonly<Record<string, string>>, expected: string | RegExp): Promise<void> {
  const line = expectFailure(await runCli(args, { env }), 2);
  if (typeof expected === "string") expect(line).toBe(expected);
  else expect(line).toMatch(expected);
}

describe("bad input: exit 2, one line on stderr, nothing on stdout", () => {
  describe("traces", () => {
    it.each(TRACE_ERRORS)("%s", async (_label, args, env, expected) => expectUsageError(args, env, expected));
  });
  describe("options", () => {
    it.each(OPTION_ERRORS)("%s", async (_label, args, env, expected) => expectUsageError(args, env, expected));
  });
  describe("commands", () => {
    it.each(COMMAND_ERRORS)("%s", async (_label, args, env, expected) => expectUsageError(args, env, expected));
  });
  describe("bench", () => {
    it.each(BENCH_ERRORS)("%s", async (_label, args, env, expected) => expectUsageError(args, env, expected));
  });

  it("no command at all: the usage in full on stderr (not one line), exit 2, nothing on stdout", async () => {
    const run = await runCli([]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^tsmalloc: CPython's memory allocators .*\n\nUsage: tsmalloc <command> \[options\]\n\nCommands:\n {2}replay <trace> /s);
  });

  it("the good trace of these cases replays (the errors are the cases' own)", async () => {
    const run = await runCli(["replay", good, "--runs", "1"]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split("\n", 1)[0]).toBe('good: 3 events replayed through MEM under "default" (allocatorName() = pymalloc)');
  });
});
