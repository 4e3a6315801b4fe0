/*
 * The README's examples are the files it names, and print what it says they print. The one that
 * records a runtime needs @tsmalloc/registry, which this package cannot depend on (the registry's
 * packages replay traces in their tests): it lives in apps/cli/examples and apps/cli's tests run
 * it. This one runs the example of this package alone, through tsx.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");

/** Each example the README marks (`<!-- example: FILE -->`), with what it says it prints. */
const shown = [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```\n\nIt prints:\n\n```\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, code: m[2]!, printed: m[3]! }));

describe("README", () => {
  it("shows each example file verbatim", () => {
    expect(shown.map((example) => example.file)).toEqual(["../../apps/cli/examples/record-replay.ts", "examples/write-and-read.ts"]);
    for (const { file, code } of shown) expect(code, file).toBe(readFileSync(new URL(file, root), "utf8"));
  });

  it("runs examples/write-and-read.ts, which prints what the README says", async () => {
    const example = shown.find((e) => e.file === "examples/write-and-read.ts")!;
    const run = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(process.execPath, ["--import", "tsx", "--conditions=@tsmalloc/source", fileURLToPath(new URL(example.file, root))], { cwd: fileURLToPath(root) }, (error, stdout, stderr) =>
        resolve({ stdout, stderr, code: error === null ? 0 : typeof error.code === "number" ? error.code : 1 }),
      );
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(example.printed);
  }, 60_000);
});
