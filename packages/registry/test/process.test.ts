/*
 * The environment in a real process, as CPython's test_cmd_line test_pythonmalloc runs python
 * with PYTHONMALLOC set: fixture programs are bundled and run with node with TSMALLOC and
 * TSMALLOCSTATS set or removed. The default runtime must take the configuration from TSMALLOC
 * (unset and "" mean default), an unknown name must end the process with the error, and
 * TSMALLOCSTATS must print pymalloc's statistics before each new arena and at exit (never in the
 * malloc configurations).
 */
import { fileURLToPath } from "node:url";
import { type ExampleRun, runExample } from "@tsmalloc/testkit";
import { beforeAll, describe, expect, it } from "vitest";

const PRINT_ALLOCATOR = fileURLToPath(new URL("./fixtures/print-allocator.ts", import.meta.url));
const STATS_ARENAS = fileURLToPath(new URL("./fixtures/stats-arenas.ts", import.meta.url));
const RUN_TIMEOUT = 60_000;
/** Processes run at once. */
const CONCURRENCY = 4;

type Env = Readonly<Record<string, string | undefined>>;

/** Runs `jobs` (each a fixture and its environment), at most CONCURRENCY at a time. */
async function runAll(jobs: readonly (readonly [string, Env])[]): Promise<ExampleRun[]> {
  const results: ExampleRun[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const [path, env] = jobs[i]!;
      results[i] = await runExample(path, RUN_TIMEOUT, env);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, jobs.length) }, lane));
  return results;
}

const EXPECTED = "expected one of default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug";

/** TSMALLOC (undefined: removed) and the name the program must print. */
const NAMES: readonly (readonly [string | undefined, string])[] = [
  [undefined, "pymalloc"],
  ["", "pymalloc"],
  ["default", "pymalloc"],
  ["debug", "pymalloc_debug"],
  ["malloc", "malloc"],
  ["malloc_debug", "malloc_debug"],
  ["pymalloc", "pymalloc"],
  ["pymalloc_debug", "pymalloc_debug"],
];

/** TSMALLOC values the process must die of, and the message it must print. */
const UNKNOWN: readonly (readonly [string, string])[] = [
  ["Malloc", `TSMALLOC: unknown allocator "Malloc"; ${EXPECTED}`],
  ["mimalloc", `TSMALLOC: allocator "mimalloc" is not available: this build of tsmalloc has no mimalloc-style allocator; ${EXPECTED}`],
];

/** The TSMALLOCSTATS cases: TSMALLOC, TSMALLOCSTATS. */
const STATS: readonly (readonly [string | undefined, string | undefined])[] = [
  [undefined, "1"],
  ["pymalloc_debug", "1"],
  [undefined, undefined],
  [undefined, ""],
  ["malloc", "1"],
];

const label = (value: string | undefined): string => (value === undefined ? "unset" : JSON.stringify(value));

interface StatsReport {
  readonly config: string;
  readonly allocatorName: string | null;
  readonly printsStats: boolean;
  readonly arenasAllocatedTotal: number | null;
  readonly arenasAllocatedCurrent: number | null;
  readonly table: string;
}

/** The value of the counter line `label` in a statistics table. */
function counter(table: string, name: string): number {
  const line = table.split("\n").find((l) => l.startsWith(`${name} `));
  expect(line, `no "${name}" line in\n${table}`).toBeDefined();
  return Number(line!.slice(line!.indexOf("=") + 1).replaceAll(",", "").trim());
}

describe("TSMALLOC and TSMALLOCSTATS in a real process", () => {
  const names = new Map<string | undefined, ExampleRun>();
  const unknown = new Map<string, ExampleRun>();
  const stats = new Map<string, ExampleRun>();

  beforeAll(async () => {
    const jobs: (readonly [string, Env])[] = [
      ...NAMES.map(([value]) => [PRINT_ALLOCATOR, { TSMALLOC: value, TSMALLOCSTATS: undefined }] as const),
      ...UNKNOWN.map(([value]) => [PRINT_ALLOCATOR, { TSMALLOC: value, TSMALLOCSTATS: undefined }] as const),
      ...STATS.map(([allocator, value]) => [STATS_ARENAS, { TSMALLOC: allocator, TSMALLOCSTATS: value }] as const),
    ];
    const runs = await runAll(jobs);
    NAMES.forEach(([value], i) => names.set(value, runs[i]!));
    UNKNOWN.forEach(([value], i) => unknown.set(value, runs[NAMES.length + i]!));
    STATS.forEach(([allocator, value], i) => stats.set(`${allocator}/${value}`, runs[NAMES.length + UNKNOWN.length + i]!));
  }, 300_000);

  it.each(NAMES.map(([value, name]) => [label(value), name, value] as const))("TSMALLOC %s: the program prints %s", (_, name, value) => {
    const run = names.get(value)!;
    expect(run.stderr).toBe("");
    expect(run.stdout).toBe(`${name}\n`);
    expect(run.exitCode).toBe(0);
  });

  it.each(UNKNOWN)("TSMALLOC %j: the process fails with ERR_TSMALLOC_UNKNOWN_ALLOCATOR", (value, message) => {
    const run = unknown.get(value)!;
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(`TsmallocError: ${message}\n`);
    expect(run.stderr).toContain("ERR_TSMALLOC_UNKNOWN_ALLOCATOR");
  });

  it.each([
    ["unset", undefined, "default", "pymalloc"],
    ["pymalloc_debug", "pymalloc_debug", "pymalloc_debug", "pymalloc_debug"],
  ] as const)(
    "TSMALLOCSTATS=1, TSMALLOC %s: a table before each new arena and one at exit, the last one the final state",
    (_, allocator, config, name) => {
      const run = stats.get(`${allocator}/1`)!;
      expect(run.exitCode).toBe(0);
      const report = JSON.parse(run.stdout) as StatsReport;
      expect(report.config).toBe(config);
      expect(report.allocatorName).toBe(name);
      expect(report.printsStats).toBe(true);
      const total = report.arenasAllocatedTotal!;
      expect(total).toBeGreaterThanOrEqual(3);
      expect(report.table).toMatch(/^Small block threshold = 512, in 32 size classes\.\n/);

      // stderr is the tables and nothing else
      const tables = run.stderr.split(/(?=^Small block threshold = )/m);
      expect(tables[0]).toMatch(/^Small block threshold = /);
      expect(tables.join("")).toBe(run.stderr);
      expect(run.stderr.match(/^# arenas allocated total {2,}=/gm)?.length).toBe(total + 1);
      expect(tables.length).toBe(total + 1);
      // printed before each new arena: 0, 1, ... total - 1 arenas so far; then at exit, all of them
      expect(tables.map((t) => counter(t, "# arenas allocated total"))).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
      const last = tables[tables.length - 1]!;
      expect(counter(last, "# arenas allocated total")).toBe(total);
      expect(counter(last, "# arenas allocated current")).toBe(report.arenasAllocatedCurrent);
      expect(last).toBe(report.table);
    },
  );

  it.each([
    ["unset", undefined],
    ['""', ""],
  ] as const)("TSMALLOCSTATS %s: nothing is printed", (_, value) => {
    const run = stats.get(`undefined/${value}`)!;
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe("");
    const report = JSON.parse(run.stdout) as StatsReport;
    expect(report.config).toBe("default");
    expect(report.printsStats).toBe(false);
    // the program did make several arenas: there was something to print
    expect(report.arenasAllocatedTotal).toBeGreaterThanOrEqual(3);
  });

  it("TSMALLOC=malloc: TSMALLOCSTATS=1 is ignored, as CPython ignores PYTHONMALLOCSTATS without pymalloc", () => {
    const run = stats.get("malloc/1")!;
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe("");
    const report = JSON.parse(run.stdout) as StatsReport;
    expect(report.config).toBe("malloc");
    expect(report.allocatorName).toBe("malloc");
    expect(report.printsStats).toBe(false);
    expect(report.arenasAllocatedTotal).toBeNull();
    expect(report.table).toBe("");
  });
});
