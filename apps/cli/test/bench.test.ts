/*
 * `tsmalloc bench` through the built command, kept few and quick (--quick: one run per cell, a
 * 20,000-event trace; each cell is a fresh worker): the JSON, the text table, and the Markdown
 * table with a budget too small for any run.
 */
import { afterAll, describe, expect, it } from "vitest";
import { expectOk, jsonOf, runCli, TempDir } from "./helpers.ts";

interface BenchJson {
  readonly runs: number;
  readonly budgetSeconds: number;
  readonly quick: boolean;
  readonly contenders: readonly string[];
  readonly cases: readonly { readonly name: string; readonly unit: string; readonly units: number }[];
  readonly cells: readonly { readonly case: string; readonly contender: string; readonly runs: readonly number[]; readonly median: number | null; readonly status: string; readonly failures: number }[];
  readonly seconds: number;
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
    expect(json.runs).toBe(1);
    expect(json.budgetSeconds).toBe(20);
    expect(json.node).toBe(process.version);
    expect(json.cases.map((c) => c.name)).toEqual(CASES);
    expect(json.cases.map((c) => c.unit)).toEqual(["ns/event", "ns/pair", "ns/pair"]);
    expect(json.cases[0]!.units).toBe(20_000);
    expect(json.cells).toHaveLength(CASES.length * CONTENDERS.length);
    for (const name of CASES) {
      for (const contender of CONTENDERS) {
        const cell = json.cells.find((c) => c.case === name && c.contender === contender);
        expect(cell, `${contender} on ${name}`).toBeDefined();
        expect(cell!.status, `${contender} on ${name}`).toBe("ok");
        expect(cell!.runs).toHaveLength(1);
        expect(cell!.median).toBe(cell!.runs[0]);
        expect(cell!.median).toBeGreaterThan(0);
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
    expect(lines[6]).toMatch(/^median of 1 run per cell, each in a fresh worker .*; budget 20 s per run; \d+ s in all; node v\d+/);
  });

  it("--markdown with a budget no run can meet: a Markdown table of cells over budget", async () => {
    const text = expectOk(await runCli(["bench", small, "--quick", "--allocators", CONTENDERS.join(","), "--markdown", "--budget", "0.001"]));
    const lines = text.split("\n");
    expect(lines[0]).toBe("| workload | unit | default | malloc | uint8array |");
    expect(lines[1]).toMatch(/^\|(-+\|){2}(-+:\|){3}$/);
    for (const [i, name] of CASES.entries()) {
      expect(lines[2 + i]).toBe(`| ${name} | ${i === 0 ? "ns/event" : "ns/pair"} | over budget | over budget | over budget |`);
    }
    expect(text).toContain("\nmedian of 1 run per cell, ");
    expect(text).toContain("; budget 0.001 s per run; ");
  });
});
