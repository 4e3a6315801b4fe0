/*
 * `tsmalloc bench` through the built command, kept few and quick (--quick: one run per cell, a
 * 20,000-event trace; each cell is a fresh worker): the JSON, the text table, and the Markdown
 * table with a budget too small for any run.
 */
import { afterAll, describe, expect, it } from "vitest";
import { expectOk, jsonOf, runCli, TempDir } from "./helpers.ts";

interface BenchJson {
  readonly runsPerCell: number;
  readonly budgetSeconds: number;
  readonly quick: boolean;
  readonly contenders: readonly string[];
  readonly cases: readonly { readonly name: string; readonly unit: string; readonly unitsPerRun: number }[];
  readonly cells: readonly {
    readonly case: string;
    readonly contender: string;
    readonly status: string;
    readonly medianNsPerUnit: number | null;
    readonly runsNsPerUnit: readonly number[];
    readonly ratio: number | null;
    readonly failures: number;
  }[];
  readonly elapsedSeconds: number;
  readonly node: string;
}

const temp = new TempDir();
afterAll(() => temp.remove());
const small = temp.writeBundledPrefix(20_000, "small.trace.gz");

const CONTENDERS = ["default", "malloc", "uint8array"];
const CASES = ["replay small (20,000 events)", "churn 8..512 B, 10,000 live", "churn 16..64 KiB, 1,000 live"];

describe("tsmalloc bench --quick", () => {
  it("--json: every contender on the trace's replay and the two churns, every cell timed", async () => {
    const json = jsonOf<BenchJson>(await runCli(["bench", small, "--quick", "--allocators", CONTENDERS.join(","), "--json"]));
    expect(json.contenders).toEqual(CONTENDERS);
    expect(json.quick).toBe(true);
    expect(json.runsPerCell).toBe(1);
    expect(json.budgetSeconds).toBe(20);
    expect(json.node).toBe(process.version);
    expect(String(json.elapsedSeconds)).toMatch(/^\d+(\.\d)?$/);
    expect(json.cases.map((c) => c.name)).toEqual(CASES);
    expect(json.cases.map((c) => c.unit)).toEqual(["event", "pair", "pair"]);
    expect(json.cases[0]!.unitsPerRun).toBe(20_000);
    expect(json.cases[1]!.unitsPerRun).toBe(20_000);
    expect(json.cells).toHaveLength(CASES.length * CONTENDERS.length);
    for (const name of CASES) {
      for (const contender of CONTENDERS) {
        const cell = json.cells.find((c) => c.case === name && c.contender === contender);
        expect(cell, `${contender} on ${name}`).toBeDefined();
        expect(cell!.status, `${contender} on ${name}`).toBe("ok");
        expect(cell!.runsNsPerUnit).toHaveLength(1);
        expect(cell!.medianNsPerUnit).toBe(cell!.runsNsPerUnit[0]);
        expect(cell!.medianNsPerUnit).toBeGreaterThan(0);
        // nanoseconds to 0.1, the ratio to the first contender's median to 0.001
        expect(String(cell!.medianNsPerUnit)).toMatch(/^\d+(\.\d)?$/);
        expect(String(cell!.ratio)).toMatch(/^\d+(\.\d{1,3})?$/);
        const base = json.cells.find((c) => c.case === name && c.contender === CONTENDERS[0])!.medianNsPerUnit!;
        expect(Math.abs(cell!.ratio! - cell!.medianNsPerUnit! / base)).toBeLessThan(0.002);
        expect(cell!.failures).toBe(0);
      }
    }
  });

  it("the text table: header, dashes, a row per workload with ratios to the first column, the note", async () => {
    const text = expectOk(await runCli(["bench", small, "--quick", "--allocators", "malloc,default"]));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^workload +unit +malloc +default$/);
    expect(lines[1]).toMatch(/^-+ {2}-+ {2}-+ {2}-+$/);
    expect(lines[1]!.length).toBe(lines[0]!.length);
    for (const [i, name] of CASES.entries()) {
      expect(lines[2 + i]).toMatch(new RegExp(`^${name.replaceAll(/[().]/g, "\\$&")} +ns/(event|pair) +\\d+(\\.\\d)? \\(1\\.00×\\) +\\d+(\\.\\d)? \\(\\d+\\.\\d\\d×\\)$`));
    }
    expect(lines[5]).toBe("");
    // one run is no median
    expect(lines[6]).toMatch(/^1 run per cell \(--quick: smaller workloads\), each in a fresh worker .*; budget 20 s per run; \d+ s in all; node v\d+/);
  });

  it("--markdown with a budget no run can meet: a Markdown table of cells over budget", async () => {
    const text = expectOk(await runCli(["bench", small, "--quick", "--allocators", CONTENDERS.join(","), "--markdown", "--budget", "0.001"]));
    const lines = text.split("\n");
    expect(lines[0]).toBe("| workload | unit | default | malloc | uint8array |");
    expect(lines[1]).toMatch(/^\|(-+\|){2}(-+:\|){3}$/);
    for (const [i, name] of CASES.entries()) {
      expect(lines[2 + i]).toBe(`| ${name} | ${i === 0 ? "ns/event" : "ns/pair"} | over budget | over budget | over budget |`);
    }
    expect(text).toContain("\n1 run per cell (--quick: smaller workloads), ");
    expect(text).toContain("; budget 0.001 s per run; ");
  });
});
