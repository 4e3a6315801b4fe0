import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const examples = markedExamples(readme);

describe("README examples", () => {
  it("shows each example file verbatim", () => {
    expect([...examples.keys()].sort()).toEqual(["examples/basic.ts"]);
    for (const [file, block] of examples) expect(block).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it("runs examples/basic.ts and prints what the README says", async () => {
    const run = await runExample(fileURLToPath(new URL("examples/basic.ts", root)));
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines.slice(0, 4)).toEqual(["true false", "32", "true true", "1002"]);
    expect(lines.slice(-3)).toEqual(["ERR_TSMALLOC_DOUBLE_FREE", "true", ""]);
    // the statistics block in the README is this run's output, verbatim
    const stats = run.stdout.slice(run.stdout.indexOf("Small block threshold"), run.stdout.indexOf("\nERR_TSMALLOC"));
    const shown = /```text\n(Small block threshold[\s\S]*?)```/.exec(readme)?.[1];
    expect(`${shown}`).toBe(stats.trimEnd() + "\n");
  }, 60_000);
});
