import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const examples = markedExamples(readFileSync(new URL("README.md", root), "utf8"));

describe("README examples", () => {
  it("shows each example file verbatim", () => {
    expect([...examples.keys()].sort()).toEqual(["examples/basic.ts", "examples/shared.mjs"]);
    for (const [file, block] of examples) expect(block).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it("runs examples/basic.ts", async () => {
    const run = await runExample(fileURLToPath(new URL("examples/basic.ts", root)));
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toBe("42");
    expect(run.stdout).toContain("largestFreeBlock");
    expect(lines.at(-2)).toBe("true");
    expect(lines.at(-1)).toBe("ERR_TSMALLOC_DOUBLE_FREE");
  }, 60_000);

  it("runs examples/shared.mjs: three workers on one heap", async () => {
    const run = await runExample(fileURLToPath(new URL("examples/shared.mjs", root)));
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines.slice(0, 3).map((l) => l.replace(/0x[0-9a-f]+/, "P"))).toEqual([
      "worker 1 left block P: 1",
      "worker 2 left block P: 2",
      "worker 3 left block P: 3",
    ]);
    expect(lines[3]).toBe("true 0");
  }, 60_000);
});
