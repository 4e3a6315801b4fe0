/*
 * `tsmalloc stats` through the built command: the bundled trace by default, pymalloc's table or
 * the note that the configuration has none, the JSON, and the same text as `replay --stats` (the
 * allocators are deterministic: the same events give the same heap).
 */
import { afterAll, describe, expect, it } from "vitest";
import { expectOk, jsonOf, runCli, TempDir } from "./helpers.ts";

interface StatsJson {
  readonly trace: string;
  readonly events: number;
  readonly allocator: string;
  readonly statisticsAt: string;
  readonly pymalloc: {
    readonly smallRequestThreshold: number;
    readonly numClasses: number;
    readonly arenasHighwaterMark: number;
    readonly arenasAllocatedTotal: number;
    readonly arenasAllocatedCurrent: number;
    readonly classes: readonly { readonly size: number; readonly pools: number; readonly blocksInUse: number }[];
  } | null;
  readonly malloc: { readonly mappedBytes: number; readonly segments: number };
  readonly text: string;
}

const temp = new TempDir();
afterAll(() => temp.remove());
const small = temp.writeBundledPrefix(20_000);

/** The number after `=` on the statistics line that starts with `label`. */
function counter(table: string, label: string): number {
  const line = table.split("\n").find((l) => l.startsWith(label));
  expect(line, `no "${label}" line in\n${table}`).toBeDefined();
  return Number(line!.slice(line!.indexOf("=") + 1).replaceAll(",", "").trim());
}

describe("tsmalloc stats", () => {
  it("without a trace replays the bundled py_compileall under default and prints pymalloc's table", async () => {
    const table = expectOk(await runCli(["stats"]));
    expect(table.startsWith("Small block threshold = 512, in 32 size classes.\n")).toBe(true);
    // py_compileall's arenas at its end under default (as `replay py_compileall` reports them)
    expect(counter(table, "# arenas allocated total")).toBe(6);
    expect(counter(table, "# arenas reclaimed")).toBe(1);
    expect(counter(table, "# arenas highwater mark")).toBe(6);
    expect(counter(table, "# arenas allocated current")).toBe(5);
    expect(table).toContain("\nsystem malloc");
  });

  it("--allocator malloc says that pymalloc is not in the configuration", async () => {
    const text = expectOk(await runCli(["stats", small, "--allocator", "malloc"]));
    expect(text.startsWith("pymalloc is not in this configuration (malloc)")).toBe(true);
    expect(text).not.toContain("Small block threshold");
    expect(text).toContain("\nsystem malloc");
  });

  it("--json gives the numbers and the text", async () => {
    const [json, malloc] = await Promise.all([runCli(["stats", small, "--json"]), runCli(["stats", small, "--json", "--allocator", "malloc", "--at", "peak"])]);
    const s = jsonOf<StatsJson>(json!);
    expect(s.trace).toBe("py_compileall-20000");
    expect(s.events).toBe(20_000);
    expect(s.allocator).toBe("default");
    expect(s.statisticsAt).toBe("end");
    expect(s.pymalloc).not.toBeNull();
    expect(s.pymalloc!.smallRequestThreshold).toBe(512);
    expect(s.pymalloc!.numClasses).toBe(32);
    expect(s.pymalloc!.arenasHighwaterMark).toBeGreaterThanOrEqual(1);
    expect(s.pymalloc!.arenasAllocatedTotal).toBeGreaterThanOrEqual(s.pymalloc!.arenasHighwaterMark);
    expect(s.pymalloc!.classes.some((c) => c.blocksInUse > 0)).toBe(true);
    expect(counter(s.text, "# arenas highwater mark")).toBe(s.pymalloc!.arenasHighwaterMark);
    expect(s.malloc.segments).toBeGreaterThanOrEqual(1);
    const m = jsonOf<StatsJson>(malloc!);
    expect(m.allocator).toBe("malloc");
    expect(m.statisticsAt).toBe("peak");
    expect(m.pymalloc).toBeNull();
    expect(m.malloc.mappedBytes).toBeGreaterThan(0);
  });

  it("--limit replays fewer events: fewer blocks in use", async () => {
    const [all, few] = await Promise.all([runCli(["stats", small, "--json"]), runCli(["stats", small, "--json", "--limit", "500"])]);
    const inUse = (s: StatsJson): number => s.pymalloc!.classes.reduce((sum, c) => sum + c.blocksInUse, 0);
    const a = jsonOf<StatsJson>(all!);
    const f = jsonOf<StatsJson>(few!);
    expect(f.events).toBe(500);
    expect(inUse(f)).toBeLessThan(inUse(a));
  });

  it.each([
    ["default", []],
    ["pymalloc_debug", []],
    ["malloc_debug", []],
    ["default", ["--at", "peak"]],
  ])("the text under %s %j is the statistics part of replay --stats", async (config, at) => {
    const [stats, replay] = await Promise.all([
      runCli(["stats", small, "--allocator", config, ...at]),
      runCli(["replay", small, "--allocator", config, "--stats", ...at]),
    ]);
    const table = expectOk(stats!);
    const summary = expectOk(replay!);
    const header = `\nstatistics at the ${at.length === 0 ? "end of the trace" : "peak of live bytes"}:\n\n`;
    expect(summary).toContain(header);
    expect(summary.slice(summary.indexOf(header) + header.length)).toBe(table);
  });
});
