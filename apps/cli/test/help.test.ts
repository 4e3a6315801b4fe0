/*
 * The help texts and the version, through the built command: each command's help is the same on
 * `tsmalloc <command> --help`, `tsmalloc <command> -h` and `tsmalloc help <command>`, on stdout.
 */
import { describe, expect, it } from "vitest";
import { COMMAND_HELP, MAIN_HELP } from "../src/help.ts";
import { expectOk, PACKAGE_VERSION, runCli } from "./helpers.ts";

/** Each command and the first line of its help. */
const COMMANDS: readonly (readonly [string, string])[] = [
  ["replay", "Usage: tsmalloc replay <trace> [options]"],
  ["stats", "Usage: tsmalloc stats [trace] [options]"],
  ["bench", "Usage: tsmalloc bench [traces...] [options]"],
  ["demo", "Usage: tsmalloc demo [options]"],
  ["wasm", "Usage: tsmalloc wasm <prog.wasm> [options] [-- ARGS...]"],
  ["help", "Usage: tsmalloc help [command]"],
];

describe("each command's help", () => {
  it.each(COMMANDS)("%s: --help, -h and `help %s` print it on stdout", async (command, usage) => {
    const [long, short, viaHelp] = await Promise.all([runCli([command, "--help"]), runCli([command, "-h"]), runCli(["help", command])]);
    const text = expectOk(long!);
    expect(text.split("\n", 1)[0]).toBe(usage);
    expect(expectOk(short!)).toBe(text);
    expect(expectOk(viaHelp!)).toBe(text);
    // the built command prints what the source says (a stale dist/ shows here)
    expect(text).toBe(COMMAND_HELP[command]);
  });

  it("--help wins over the command's other arguments and options", async () => {
    const run = await runCli(["replay", "no-such-file", "--runs", "0", "--help"]);
    expect(expectOk(run)).toBe(COMMAND_HELP.replay);
  });

  it("the replay help lists its options", async () => {
    const text = expectOk(await runCli(["replay", "--help"]));
    for (const option of ["--allocator NAME", "--verify", "--stats", "--at end|peak", "--runs N", "--limit N", "--module PATH", "--json"]) {
      expect(text).toContain(`  ${option}`);
    }
  });
});

describe("the main help and the version", () => {
  it.each([["--help"], ["-h"], ["help"]])("tsmalloc %s prints the main help", async (arg) => {
    const text = expectOk(await runCli([arg]));
    expect(text).toContain("\nUsage: tsmalloc <command> [options]\n");
    expect(text).toContain("  replay <trace>");
    expect(text).toContain("  TSMALLOC ");
    expect(text).toBe(MAIN_HELP);
  });

  it("--version prints the package's version", async () => {
    expect(PACKAGE_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(expectOk(await runCli(["--version"]))).toBe(`${PACKAGE_VERSION}\n`);
  });
});
