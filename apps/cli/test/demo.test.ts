/*
 * `tsmalloc demo` (what `npm start` runs) through the built command: the bundled trace under the
 * configuration from TSMALLOC, its statistics at the peak, and the comparison with malloc (or,
 * when TSMALLOC is malloc, with default).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { compared } from "../src/demo-command.ts";
import { type CliRun, expectFailure, expectOk, expectTidyFigures, runCli } from "./helpers.ts";

describe("tsmalloc demo", () => {
  let underDefault: CliRun;
  let underMalloc: CliRun;
  let underDebug: CliRun;
  beforeAll(async () => {
    [underDefault, underMalloc, underDebug] = await Promise.all([
      runCli(["demo"]),
      runCli(["demo"], { env: { TSMALLOC: "malloc" } }),
      runCli(["demo"], { env: { TSMALLOC: "pymalloc_debug" } }),
    ]);
  });

  it("under default: the summary, pymalloc's statistics at the peak, the comparison with malloc", () => {
    const text = expectOk(underDefault);
    expect(text.startsWith("tsmalloc demo: CPython's allocators on a real program's allocations\n")).toBe(true);
    expect(text).toContain("under TSMALLOC=default.\n");
    expect(text).toContain('\npy_compileall: 995,232 events replayed through MEM under "default" (allocatorName() = pymalloc)\n');
    expect(text).toContain("\n  peak live bytes    11,323,148 B (10.8 MiB) in 74,793 blocks, after event 251,313\n");
    // one time for default: the comparison's, none in the summary
    expect(text).not.toContain("\n  time ");
    expect(text.match(/ns\/event/g)).toHaveLength(2);
    // the table is taken at the peak, before the arena given back: said under its heading
    expect(text).toContain("\n  pymalloc arenas    6 at most, 6 allocated in all, 1 given back\n");
    expect(text).toContain(
      '\nStatistics at the peak of live bytes (after event 251,313), as sys._debugmallocstats() prints them.\nThe table\'s counters stop at the point it was taken: its "# arenas reclaimed = 0" leaves out the\narena given back after it, which the summary\'s "1 given back" counts.\n\nSmall block threshold',
    );
    expect(text).toMatch(/\n# arenas reclaimed += +0\n/);
    expect(text).toContain("\nSmall block threshold = 512, in 32 size classes.\n");
    expect(text).toContain("\n# arenas highwater mark ");
    expect(text).toContain("\nCompared with malloc on the same trace");
    const comparison = text.slice(text.indexOf("\nCompared with malloc"));
    expect(comparison).toMatch(/\n {2,}default +malloc +default against malloc\n/);
    expect(comparison).toMatch(/\nns\/event +\d+(\.\d)? +\d+(\.\d)? +(\d+\.\d\d× (faster|slower)|about the same)\n/);
    // pymalloc's arenas and malloc's segments hold 12.6 MiB at the peak, malloc alone 11.9: larger
    // by the never-carved pools of the newest arena (issue 15)
    expect(comparison).toMatch(/\nfootprint at peak +12\.6 MiB +11\.9 MiB +1\.06× larger\n/);
    expect(comparison).toMatch(/\nfootprint \/ live bytes +1\.17× +1\.10×\n/);
    expect(comparison).not.toContain("failed");
    expectTidyFigures(text);
  });

  it("says which is faster in words, the larger over the smaller, whichever way round", () => {
    expect(compared(208, 247, "slower", "faster")).toBe("1.19× faster");
    expect(compared(450, 200, "slower", "faster")).toBe("2.25× slower");
    expect(compared(13.0, 12.6, "larger", "smaller")).toBe("1.03× larger");
    expect(compared(100, 100.2, "slower", "faster")).toBe("about the same");
    expect([compared(null, 1, "a", "b"), compared(1, null, "a", "b"), compared(0, 1, "a", "b")]).toEqual(["-", "-", "-"]);
  });

  it("with TSMALLOC=malloc: malloc's summary, no pymalloc table, the comparison with default", () => {
    const text = expectOk(underMalloc);
    expect(text).toContain("under TSMALLOC=malloc.\n");
    expect(text).toContain('\npy_compileall: 995,232 events replayed through MEM under "malloc" (allocatorName() = malloc)\n');
    expect(text).toContain("\npymalloc is not in this configuration (malloc)");
    expect(text).not.toContain("Small block threshold");
    expect(text).toContain("\nCompared with default on the same trace");
    expect(text).not.toContain("Compared with malloc");
    expect(text).toMatch(/\n {2,}malloc +default +malloc against default\n/);
    expect(text).toMatch(/\nfootprint at peak +11\.9 MiB +12\.6 MiB +1\.06× smaller\n/);
  });

  it("with TSMALLOC=pymalloc_debug: the comparison reads from the configuration's side", () => {
    const text = expectOk(underDebug);
    expect(text).toContain("under TSMALLOC=pymalloc_debug.\n");
    expect(text).toMatch(/\n {2,}pymalloc_debug +malloc +pymalloc_debug against malloc\n/);
    expect(text).toMatch(/\nns\/event +\d+(\.\d)? +\d+(\.\d)? +(\d+\.\d\d× (faster|slower)|about the same)\n/);
    // the hooks' 16 bytes of header and 8 of trailer per block: larger than malloc's footprint
    expect(text).toMatch(/\nfootprint at peak +[\d.]+ MiB +11\.9 MiB +\d\.\d\d× larger\n/);
    expect(text).not.toContain("malloc / pymalloc_debug");
  });

  it.each([
    ["--allocator nonsense", ["--allocator", "nonsense"], {}, /^tsmalloc: demo: --allocator: unknown allocator "nonsense"/],
    ["TSMALLOC=nonsense", [], { TSMALLOC: "nonsense" }, /^tsmalloc: demo: TSMALLOC: unknown allocator "nonsense"/],
    ["an argument", ["py_compileall"], {}, /^tsmalloc: demo: unexpected argument "py_compileall"/],
  ])("%s: exit 2", async (_label, args, env, message) => {
    expect(expectFailure(await runCli(["demo", ...args], { env }), 2)).toMatch(message);
  });
});
