/*
 * The round trip of @tsmalloc/trace's recordTrace on a real runtime: a program runs on a runtime
 * while its MEM domain is recorded into a trace file; `tsmalloc replay --verify` and `tsmalloc
 * stats` replay the file through a fresh runtime of the same configuration and find the same
 * statistics, block for block. (Here and not in packages/trace: this is the first package that
 * has both the trace package and the registry.) Also the trace package's README example that
 * needs a runtime, and that a registry Runtime is a TraceRuntime.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { LinearMemory } from "@tsmalloc/memory";
import { type AllocatorConfig, createRuntime, Domain, type Runtime } from "@tsmalloc/registry";
import { markedExamples, prng, runExample } from "@tsmalloc/testkit";
import { createTraceFile, recordTrace, type TraceRuntime } from "@tsmalloc/trace";
import { afterAll, describe, expect, it } from "vitest";
import { expectOk, jsonOf, runCli, TempDir } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

/** What the program itself counted while it ran. */
interface Tally {
  readonly peakLiveBytes: number;
  readonly liveBlocks: number;
  readonly liveBytes: number;
}

/**
 * A program that uses tsmalloc through MEM, as an extension module would: records of random sizes
 * (small ones for pymalloc, a few large ones for malloc) made with malloc and calloc, grown with
 * realloc, freed in random order; also a free(NULL) and a request too large for the memory, both
 * straight to the domain's allocator. It keeps its own count of the live bytes.
 */
function program(runtime: Runtime): Tally {
  const random = prng(18);
  const live = new Map<number, number>();
  let bytes = 0;
  let peak = 0;
  const made = (p: number, n: number): void => {
    expect(p).not.toBe(0);
    live.set(p, n);
    bytes += n;
    peak = Math.max(peak, bytes);
  };
  for (let step = 0; step < 30_000; step++) {
    const roll = random();
    const blocks = [...live.keys()];
    if (roll < 0.45 || blocks.length === 0) {
      const n = random() < 0.02 ? 1000 + Math.floor(random() * 20_000) : Math.floor(random() * 512);
      made(runtime.memMalloc(n), n);
    } else if (roll < 0.55) {
      const k = 1 + Math.floor(random() * 8);
      made(runtime.memCalloc(k, 24), k * 24);
    } else if (roll < 0.65) {
      const p = blocks[Math.floor(random() * blocks.length)]!;
      const n = Math.floor(random() * 700);
      bytes -= live.get(p)!;
      live.delete(p);
      made(runtime.memRealloc(p, n), n);
    } else {
      const p = blocks[Math.floor(random() * blocks.length)]!;
      bytes -= live.get(p)!;
      live.delete(p);
      runtime.memFree(p);
    }
  }
  runtime.getAllocator(Domain.MEM).free(0);
  expect(runtime.getAllocator(Domain.MEM).malloc(2 ** 40)).toBe(0);
  return { peakLiveBytes: peak, liveBlocks: live.size, liveBytes: bytes };
}

/** Runs the program on a fresh runtime of `config` with MEM recorded into `path`. */
async function record(config: AllocatorConfig, path: string): Promise<{ runtime: Runtime; tally: Tally }> {
  const runtime = createRuntime({ memory: new LinearMemory(), allocator: config });
  const before = runtime.getAllocator(Domain.MEM);
  const file = createTraceFile(path);
  const recording = recordTrace(runtime, Domain.MEM, { sink: file });
  const tally = program(runtime);
  const { counts } = recording.stop();
  await file.close();
  expect(runtime.getAllocator(Domain.MEM)).toBe(before);
  expect(runtime.allocatorName()).toBe(config === "default" ? "pymalloc" : config);
  expect(counts).toMatchObject({ nullReturns: 1, freeNull: 1, unknownFrees: 0, unknownReallocs: 0, reusedAddresses: 0 });
  return { runtime, tally };
}

interface StatsJson {
  readonly text: string;
  readonly pymalloc: unknown;
  readonly malloc: unknown;
}

describe("recordTrace, then tsmalloc replay --verify: the same statistics", () => {
  it.each(["default", "pymalloc_debug", "malloc"] as const)("under %s", async (config) => {
    const path = temp.file(`program-${config}.trace.gz`);
    const { runtime, tally } = await record(config, path);
    const lines = gunzipSync(readFileSync(path)).toString("utf8").split("\n");
    expect(lines[0]).toMatch(/^# recorded by @tsmalloc\/trace from the mem domain/);
    expect(lines).toContain("# malloc(1099511627776) returned NULL");

    const [replayed, stats] = await Promise.all([
      runCli(["replay", path, "--verify", "--stats", "--json", "--allocator", config]),
      runCli(["stats", path, "--json", "--allocator", config]),
    ]);
    const json = jsonOf<{ verified: boolean; failures: number; peakLiveBytes: number; liveAtEndBlocks: number; liveAtEndBytes: number; statistics: StatsJson }>(replayed);
    expect(json.verified).toBe(true);
    expect(json.failures).toBe(0);
    // the trace's figures are the program's own
    expect(json.peakLiveBytes).toBe(tally.peakLiveBytes);
    expect(json.liveAtEndBlocks).toBe(tally.liveBlocks);
    expect(json.liveAtEndBytes).toBe(tally.liveBytes);
    // and the heaps after the replay are the program's, table for table
    const pymalloc = runtime.pymallocHeap?.stats() ?? null;
    expect(json.statistics.pymalloc).toEqual(JSON.parse(JSON.stringify(pymalloc)));
    expect(json.statistics.malloc).toEqual(JSON.parse(JSON.stringify(runtime.mallocHeap.stats())));
    if (pymalloc !== null) expect(json.statistics.text.startsWith(runtime.debugMallocStats())).toBe(true);
    const statistics = jsonOf<StatsJson>(stats);
    expect(statistics.text).toBe(json.statistics.text);
  });

  it("the plain-text replay of the recording says so too", async () => {
    const path = temp.file("program.trace");
    await record("default", path);
    const text = expectOk(await runCli(["replay", path, "--verify"]));
    expect(text).toMatch(/^program: [\d,]+ events replayed through MEM under "default"/);
    expect(text).toContain("  NULL returns       0\n");
    expect(text).toContain("  verified           yes:");
  });
});

describe("a registry Runtime", () => {
  it("is a TraceRuntime (the shape @tsmalloc/trace states instead of depending on the registry)", () => {
    const runtime: TraceRuntime = createRuntime();
    expect(runtime.getAllocator(Domain.MEM).memory).toBe(runtime.memory);
  });
});

describe("the README of @tsmalloc/trace", () => {
  const readme = readFileSync(new URL("../../../packages/trace/README.md", import.meta.url), "utf8");
  const file = "../../apps/cli/examples/record-replay.ts";

  it("shows examples/record-replay.ts, which prints what it says it prints", async () => {
    const shown = markedExamples(readme).get(file);
    const example = new URL("../examples/record-replay.ts", import.meta.url);
    expect(shown).toBe(readFileSync(example, "utf8"));
    const printed = new RegExp(`<!-- example: ${file.replaceAll(".", "\\.")} -->\\n\`\`\`ts\\n[\\s\\S]*?\`\`\`\\n\\nIt prints:\\n\\n\`\`\`\\n([\\s\\S]*?)\`\`\``).exec(readme)![1];
    const run = await runExample(fileURLToPath(example));
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(printed);
  }, 60_000);
});
