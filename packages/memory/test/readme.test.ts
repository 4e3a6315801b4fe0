import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { markedExamples, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);
const examples = markedExamples(readFileSync(new URL("README.md", root), "utf8"));

describe("README example", () => {
  it("shows examples/basic.ts verbatim", () => {
    expect([...examples.keys()]).toEqual(["examples/basic.ts"]);
    expect(examples.get("examples/basic.ts")).toBe(readFileSync(new URL("examples/basic.ts", root), "utf8"));
  });

  it("runs examples/basic.ts", async () => {
    const run = await runExample(fileURLToPath(new URL("examples/basic.ts", root)));
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^arena at 0x[0-9a-f]+, memory is now \d+ bytes$/);
    expect(lines[1]).toBe("3.5");
    expect(run.stdout).toContain("owner 5");
    expect(lines.at(-1)).toBe("ERR_TSMALLOC_INVALID_POINTER");
  }, 60_000);
});
