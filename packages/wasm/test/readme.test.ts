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

/** Node's own notice when node:wasi is first loaded: the only thing the example may print on stderr. */
const WASI_WARNING = /^(\(node:\d+\) ExperimentalWarning: WASI is an experimental feature and might change at any time\n\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n)?$/;

describe("README examples", () => {
  it("shows each example file verbatim", () => {
    expect([...examples.keys()]).toEqual(["examples/basic.ts"]);
    for (const [file, block] of examples) expect(block).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it("runs examples/basic.ts, which compiles a C program and prints what the README says it prints", async () => {
    const run = await runExample(fileURLToPath(new URL("examples/basic.ts", root)), 60_000, { TSMALLOC: undefined, TSMALLOCSTATS: undefined });
    expect(run.stderr).toMatch(WASI_WARNING);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(printedAfter("examples/basic.ts"));
  }, 60_000);
});
