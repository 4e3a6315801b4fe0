/*
 * The README's example is the file it names, and prints what the README shows. (It runs in this
 * process: the package's tests use no other tsmalloc package, not even the testkit, which
 * depends on this one.)
 */
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("shows examples/list.ts verbatim, and what it prints", async () => {
    const shown = /<!-- example: examples\/list\.ts -->\n```ts\n([\s\S]*?)```\n\nIt prints:\n\n```\n([\s\S]*?)```/.exec(readme);
    expect(shown).not.toBeNull();
    expect(shown![1]).toBe(readFileSync(new URL("../examples/list.ts", import.meta.url), "utf8"));
    const printed: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: string) => void printed.push(`${line}\n`));
    try {
      await import("../examples/list.ts");
    } finally {
      log.mockRestore();
    }
    expect(printed.join("")).toBe(shown![2]);
  });
});
