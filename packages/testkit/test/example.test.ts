import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

describe("markedExamples", () => {
  it("finds the fenced block after each example marker", () => {
    const md = "# T\n\n<!-- example: a.ts -->\n```ts\nconst a = 1;\n```\n\ntext\n\n<!--example:b.mjs-->\n```js\nb();\n```\n\n```ts\nnot marked\n```\n";
    const found = markedExamples(md);
    expect([...found.entries()]).toEqual([
      ["a.ts", "const a = 1;\n"],
      ["b.mjs", "b();\n"],
    ]);
  });
});

describe("runExample", () => {
  it("bundles and runs a TypeScript file, reporting output and exit code", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmalloc-ex-"));
    const ok = join(dir, "ok.ts");
    writeFileSync(ok, "const n: number = 6 * 7;\nconsole.log(n);\n");
    const bad = join(dir, "bad.ts");
    writeFileSync(bad, "console.error('boom');\nprocess.exit(3);\n");
    expect(await runExample(ok)).toEqual({ stdout: "42\n", stderr: "", exitCode: 0 });
    const run = await runExample(bad);
    expect(run.exitCode).toBe(3);
    expect(run.stderr).toBe("boom\n");
  }, 60_000);

  it("adds env to the child's environment and removes variables set to undefined", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmalloc-ex-"));
    const file = join(dir, "env.ts");
    writeFileSync(file, "console.log(`${process.env.TSMALLOC_TEST_A}|${process.env.TSMALLOC_TEST_B}|${process.env.PATH !== undefined}`);\n");
    process.env.TSMALLOC_TEST_B = "inherited";
    try {
      expect((await runExample(file)).stdout).toBe("undefined|inherited|true\n");
      expect((await runExample(file, 60_000, { TSMALLOC_TEST_A: "set", TSMALLOC_TEST_B: undefined })).stdout).toBe("set|undefined|true\n");
    } finally {
      delete process.env.TSMALLOC_TEST_B;
    }
  }, 60_000);
});
