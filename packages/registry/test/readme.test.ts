import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const examples = markedExamples(readme);

/** The block after the "It prints:" that follows the example of `file`. */
function printedAfter(file: string): string {
  const at = readme.indexOf(`<!-- example: ${file} -->`);
  const printed = /\nIt prints:\n\n```\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(printed).not.toBeNull();
  return printed![1]!;
}

describe("README examples", () => {
  it("shows each example file verbatim", () => {
    expect([...examples.keys()]).toEqual(["examples/basic.ts", "examples/wasm32.ts", "examples/hook.ts", "examples/free-threading.ts"]);
    for (const [file, block] of examples) expect(block).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it.each(["examples/basic.ts", "examples/wasm32.ts", "examples/hook.ts", "examples/free-threading.ts"])("runs %s, which prints what the README says it prints", async (file) => {
    const run = await runExample(fileURLToPath(new URL(file, root)), 60_000, { TSMALLOC: undefined, TSMALLOCSTATS: undefined });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(printedAfter(file));
  }, 60_000);
});
