/*
 * The outputs the README shows are what the command prints: each block marked `<!-- output -->`
 * starts with `$ tsmalloc ARGS` (run from the repository root) and holds the output, stdout and
 * stderr together. Times differ from run to run, so a `time` line is matched by its shape only.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "./helpers.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const root = fileURLToPath(new URL("../../../", import.meta.url));

interface ShownRun {
  readonly command: string;
  readonly output: string;
}

const shown: ShownRun[] = [...readme.matchAll(/<!-- output -->\n```\n\$ tsmalloc (.*)\n([\s\S]*?)```/g)].map((m) => ({ command: m[1]!, output: m[2]! }));
const TIME_LINE = /^ {2}time {15}[\d.]+ ns\/event \([\d.]+ ms; .*\)$/;

describe("README", () => {
  it("shows outputs to check", () => {
    expect(shown.length).toBe(5);
  });

  it.each(shown)("$ tsmalloc $command prints what the README shows", async ({ command, output }) => {
    const run = await runCli(command.split(" "), { cwd: root });
    const actual = `${run.stdout}${run.stderr}`.split("\n");
    const expected = output.split("\n");
    expect(actual.length).toBe(expected.length);
    expected.forEach((line, i) => {
      if (line.startsWith("  time ")) expect(actual[i]).toMatch(TIME_LINE);
      else expect(actual[i]).toBe(line);
    });
  });
});
