/*
 * The command line in-process (src/cli.ts's run) with a capturing io: the help, the exit codes,
 * the environment taken from the io (never from the process), the progress bar on a terminal,
 * and an unexpected error turned into exit 70 with its stack.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { run } from "../src/cli.ts";
import { COMMAND_HELP, MAIN_HELP } from "../src/help.ts";
import type { CliIo } from "../src/io.ts";
import { VERSION } from "../src/version.ts";
import { OVERLAPPING_ALLOCATOR, PACKAGE_VERSION, TempDir } from "./helpers.ts";

interface Captured extends CliIo {
  stdout: string;
  stderr: string;
}

function captureIo(env: Readonly<Record<string, string | undefined>> = {}, errIsTerminal = false): Captured {
  const io: Captured = {
    stdout: "",
    stderr: "",
    out: (text) => void (io.stdout += text),
    err: (text) => void (io.stderr += text),
    errIsTerminal,
    env,
  };
  return io;
}

const temp = new TempDir();
afterAll(() => temp.remove());
afterEach(() => void vi.unstubAllEnvs());
const tiny = temp.writePlain("tiny.trace", "a 0 24\na 1 24\nf 0\nf 1\n");

describe("run: help and version", () => {
  it.each([[["--help"]], [["-h"]], [["help"]]])("%j prints the main help, exit 0", async (argv) => {
    const io = captureIo();
    expect(await run(argv, io)).toBe(0);
    expect(io.stdout).toBe(MAIN_HELP);
    expect(io.stderr).toBe("");
  });

  it.each(Object.keys(COMMAND_HELP))("%s --help, and help %s, print the command's help", async (command) => {
    const direct = captureIo();
    const viaHelp = captureIo();
    expect(await run([command, "--help"], direct)).toBe(0);
    expect(await run(["help", command], viaHelp)).toBe(0);
    expect(direct.stdout).toBe(COMMAND_HELP[command]);
    expect(viaHelp.stdout).toBe(COMMAND_HELP[command]);
    expect(direct.stderr + viaHelp.stderr).toBe("");
  });

  it("--help or -h anywhere after a command wins over the rest of the line, even a bad option", async () => {
    for (const argv of [["replay", "--frob", "--help"], ["replay", "missing.trace", "--runs", "0", "-h"], ["bench", "--json", "--markdown", "--help"]]) {
      const io = captureIo();
      expect(await run(argv, io)).toBe(0);
      expect(io.stdout).toBe(COMMAND_HELP[argv[0]!]);
      expect(io.stderr).toBe("");
    }
  });

  it("help --help is the help command's own help", async () => {
    const io = captureIo();
    expect(await run(["help", "-h"], io)).toBe(0);
    expect(io.stdout).toBe(COMMAND_HELP.help);
  });

  it("--version prints the package's version", async () => {
    const io = captureIo();
    expect(await run(["--version"], io)).toBe(0);
    expect(VERSION).toBe(PACKAGE_VERSION);
    expect(io.stdout).toBe(`${PACKAGE_VERSION}\n`);
  });
});

describe("run: exit codes", () => {
  it("no command: the main help on stderr, exit 2 (a usage error that shows the usage)", async () => {
    const io = captureIo();
    expect(await run([], io)).toBe(2);
    expect(io.stderr).toBe(MAIN_HELP);
    expect(io.stdout).toBe("");
  });

  it.each([
    [["replay", "x", "--runs", "0"], 'tsmalloc: replay: --runs must be a whole number of at least 1, got "0" (see tsmalloc replay --help)\n'],
    [["help", "nonsense"], 'tsmalloc: help: unknown command "nonsense"; the commands are replay, stats, bench, demo, visualize, wasm, record, help (see tsmalloc help --help)\n'],
    [["--frob"], "tsmalloc: unknown option --frob before the command (see tsmalloc --help)\n"],
  ])("%j: exit 2 and the one line", async (argv, line) => {
    const io = captureIo();
    expect(await run(argv, io)).toBe(2);
    expect(io.stderr).toBe(line);
    expect(io.stdout).toBe("");
  });

  it("a replay fault: exit 1", async () => {
    vi.stubEnv("OVERLAP_EVERY", "2");
    const io = captureIo();
    expect(await run(["replay", tiny, "--verify", "--module", OVERLAPPING_ALLOCATOR], io)).toBe(1);
    expect(io.stderr).toMatch(/^tsmalloc: replay failed at event 3 \(line 3 of tiny\): block 0 at 0x[0-9a-f]+ \(24 bytes\) was overwritten at \+0: 0x0?2 instead of 0x0?1\n$/);
    expect(io.stdout).toBe("");
  });

  it("anything else thrown is an internal error: exit 70, with the stack to report", async () => {
    const io = captureIo();
    io.out = (): void => {
      throw new Error("stdout is gone");
    };
    expect(await run(["--version"], io)).toBe(70);
    expect(io.stderr).toMatch(/^tsmalloc: internal error \(please report it\): Error: stdout is gone\n {4}at /);
  });
});

describe("run: the environment and the terminal are the io's", () => {
  it("TSMALLOC is read from io.env, not from the process", async () => {
    vi.stubEnv("TSMALLOC", "debug");
    const fromIo = captureIo({ TSMALLOC: "malloc" });
    expect(await run(["replay", tiny, "--json", "--runs", "1"], fromIo)).toBe(0);
    expect(JSON.parse(fromIo.stdout)).toMatchObject({ allocator: "malloc", allocatorName: "malloc", events: 4 });
    const unset = captureIo({});
    expect(await run(["replay", tiny, "--json", "--runs", "1"], unset)).toBe(0);
    expect(JSON.parse(unset.stdout)).toMatchObject({ allocator: "default", allocatorName: "pymalloc" });
  });

  it("on a terminal, reading the trace draws a progress bar on stderr and erases it", async () => {
    const terminal = captureIo({}, true);
    expect(await run(["replay", tiny, "--runs", "1"], terminal)).toBe(0);
    expect(terminal.stderr).toBe(`\rreading tiny.trace  [${"#".repeat(24)}] 100%  0.0 MB of 0.0 MB\r\u001b[2K`);
    expect(terminal.stdout.startsWith('tiny: 4 events replayed through MEM under "default"')).toBe(true);
    const pipe = captureIo({}, false);
    expect(await run(["replay", tiny, "--runs", "1"], pipe)).toBe(0);
    expect(pipe.stderr).toBe("");
  });
});
