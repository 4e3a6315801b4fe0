import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const examples = markedExamples(readme);

describe("README examples", () => {
  it("shows each example file verbatim", () => {
    expect([...examples.keys()]).toEqual(["examples/basic.ts"]);
    for (const [file, block] of examples) expect(block).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it("runs examples/basic.ts, which prints what the README says it prints", async () => {
    const run = await runExample(fileURLToPath(new URL("examples/basic.ts", root)));
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const printed = /\nIt prints:\n\n```\n([\s\S]*?)```/.exec(readme);
    expect(printed).not.toBeNull();
    expect(run.stdout).toBe(printed![1]);
  }, 60_000);
});
