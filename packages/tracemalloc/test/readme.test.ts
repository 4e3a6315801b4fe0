/*
 * The README's examples are the files in examples/, character for character, and print what the
 * README says they print. They run as a user runs TypeScript (node with tsx, from this package's
 * directory), so that their frames are their own lines; the README shows the paths relative to
 * the package.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const PACKAGE = fileURLToPath(root);
const readme = readFileSync(new URL("README.md", root), "utf8");
const examples = markedExamples(readme);
/** Run with tsx, so that their frames are their own lines. */
const FILES = ["examples/leak.ts", "examples/report.ts"];
/** Bundled (testkit's runExample), so that the worker it starts on itself runs too; it prints no frames. */
const BUNDLED = ["examples/workers.ts"];

/** The block after the "It prints" that follows the example of `file`. */
function printedAfter(file: string): string {
  const at = readme.indexOf(`<!-- example: ${file} -->`);
  const printed = /\nIt prints[^\n]*:\n\n```\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(printed).not.toBeNull();
  return printed![1]!;
}

function run(file: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const tsx = createRequire(import.meta.url).resolve("tsx");
  const env: Record<string, string | undefined> = { ...process.env };
  delete env.TSMALLOC;
  delete env.TSMALLOC_TRACEMALLOC;
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", tsx, "--conditions=@tsmalloc/source", file], { cwd: PACKAGE, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, code: error === null ? 0 : 1 }),
    );
  });
}

describe("README examples", () => {
  it("shows each example file verbatim", () => {
    expect([...examples.keys()]).toEqual([...FILES, ...BUNDLED]);
    for (const [file, block] of examples) expect(block).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it.each(FILES)("runs %s, which prints what the README says it prints", async (file) => {
    const result = await run(file);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout.replaceAll(PACKAGE, "")).toBe(printedAfter(file));
  }, 60_000);

  it.each(BUNDLED)("runs %s, which prints what the README says it prints", async (file) => {
    const result = await runExample(fileURLToPath(new URL(file, root)), 60_000, { TSMALLOC: undefined, TSMALLOC_TRACEMALLOC: undefined });
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe(printedAfter(file));
  }, 60_000);
});
