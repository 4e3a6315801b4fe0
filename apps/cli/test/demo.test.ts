/*
 * `tsmalloc demo` (what `npm start` runs) through the built command: the bundled trace under the
 * configuration from TSMALLOC, its statistics at the peak, and the comparison with malloc (or,
 * when TSMALLOC is malloc, with default).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type CliRun, expectFailure, expectOk, runCli } from "./helpers.ts";

describe("tsmalloc demo", () => {
  let underDefault: CliRun;
  let underMalloc: CliRun;
  beforeAll(async () => {
    [underDefault, underMalloc] = await Promise.all([runCli(["demo"]), runCli(["demo"], { env: { TSMALLOC: "malloc" } })]);
  });

  it("under default: the summary, pymalloc's statistics at the peak, the comparison with malloc", () => {
    const text = expectOk(underDefault);
    expect(text.startsWith("tsmalloc demo: CPython's allocators on a real program's allocations\n")).toBe(true);
    expect(text).toContain("under TSMALLOC=default.\n");
    expect(text).toContain('\npy_compileall: 995,232 events replayed through MEM under "default" (allocatorName() = pymalloc)\n');
    expect(text).toContain("\n  peak live bytes    11,323,148 B (10.8 MiB) in 74,793 blocks, after event 251,313\n");
    expect(text).toContain("\nStatistics at the peak of live bytes");
    expect(text).toContain("\nSmall block threshold = 512, in 32 size classes.\n");
    expect(text).toContain("\n# arenas highwater mark ");
    expect(text).toContain("\nCompared with malloc on the same trace");
    const comparison = text.slice(text.indexOf("\nCompared with malloc"));
    expect(comparison).toMatch(/\n {2,}default +malloc +malloc \/ default\n/);
    expect(comparison).toMatch(/\nns\/event +\d+(\.\d)? +\d+(\.\d)? +\d+\.\d\d×\n/);
    expect(comparison).toMatch(/\nfootprint at peak +[\d.]+ MiB +[\d.]+ MiB +\d+\.\d\d×\n/);
    expect(comparison).toMatch(/\nfootprint \/ live bytes +1\.20× +\d\.\d\d×\n/);
    expect(comparison).not.toContain("failed");
  });

  it("with TSMALLOC=malloc: malloc's summary, no pymalloc table, the comparison with default", () => {
    const text = expectOk(underMalloc);
    expect(text).toContain("under TSMALLOC=malloc.\n");
    expect(text).toContain('\npy_compileall: 995,232 events replayed through MEM under "malloc" (allocatorName() = malloc)\n');
    expect(text).toContain("\npymalloc is not in this configuration (malloc)");
    expect(text).not.toContain("Small block threshold");
    expect(text).toContain("\nCompared with default on the same trace");
    expect(text).not.toContain("Compared with malloc");
    expect(text).toMatch(/\n {2,}malloc +default +default \/ malloc\n/);
  });

  it.each([
    ["--allocator nonsense", ["--allocator", "nonsense"], {}, /^tsmalloc: demo: --allocator: unknown allocator "nonsense"/],
    ["TSMALLOC=nonsense", [], { TSMALLOC: "nonsense" }, /^tsmalloc: demo: TSMALLOC: unknown allocator "nonsense"/],
    ["an argument", ["py_compileall"], {}, /^tsmalloc: demo: unexpected argument "py_compileall"/],
  ])("%s: exit 2", async (_label, args, env, message) => {
    expect(expectFailure(await runCli(["demo", ...args], { env }), 2)).toMatch(message);
  });
});
