import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { firstMessage, parseBenchArgs, runWorkers, startWorker, ThingPoolTarget, TypedArraysTarget } from "../src/index.ts";

describe("parseBenchArgs", () => {
  it("has the documented defaults", () => {
    expect(parseBenchArgs([])).toEqual({ runs: 5, quick: false, budgetSeconds: 30 });
  });

  it("reads --runs and --budget, and ignores the -- that pnpm passes through", () => {
    expect(parseBenchArgs(["--", "--runs", "9", "--budget", "12.5"])).toEqual({ runs: 9, quick: false, budgetSeconds: 12.5 });
  });

  it("makes --quick one run", () => {
    expect(parseBenchArgs(["--quick", "--runs", "7"])).toEqual({ runs: 1, quick: true, budgetSeconds: 30 });
  });

  it("refuses unknown options and bad numbers", () => {
    expect(() => parseBenchArgs(["--fast"])).toThrow(TypeError);
    expect(() => parseBenchArgs(["--runs", "0"])).toThrow(/--runs/);
    expect(() => parseBenchArgs(["--runs", "2.5"])).toThrow(/--runs/);
    expect(() => parseBenchArgs(["--budget", "soon"])).toThrow(/--budget/);
    expect(() => parseBenchArgs(["trace.gz"])).toThrow(TypeError);
  });
});

describe("runWorkers", () => {
  const url = new URL("./fixtures/echo-worker.ts", import.meta.url);

  it("returns each worker's first message, in the order of the jobs", async () => {
    expect(await runWorkers<number>(url, [{ value: 1 }, { value: 2 }, { value: 3 }])).toEqual([2, 4, 6]);
  }, 30_000);

  it("rejects when a worker fails", async () => {
    await expect(runWorkers<number>(url, [{ value: 1 }, { value: 2, fail: true }])).rejects.toThrow(/told to fail/);
  }, 30_000);
});

describe("startWorker", () => {
  // posts back its workerData, and how it was started: a module run by tsx has a
  // `?tsx-namespace=` URL and an eval'd entry point, one started as it is has neither
  const echo = 'import { parentPort, workerData } from "node:worker_threads";\nparentPort.postMessage({ workerData, url: import.meta.url, entry: process.argv[1] });\n';

  it("starts a built JavaScript module as it is, with its workerData", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmalloc-"));
    writeFileSync(join(dir, "echo.mjs"), echo);
    // a .js file of an ES module package, as in dist/
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(join(dir, "echo.js"), echo);
    for (const name of ["echo.mjs", "echo.js"]) {
      const path = join(dir, name);
      const data = { name, list: [1, 2, 3], nested: { shared: new Uint8Array([7, 8]) } };
      const worker = startWorker(pathToFileURL(path), data);
      try {
        expect(await firstMessage(worker), name).toEqual({ workerData: data, url: pathToFileURL(path).href, entry: path });
      } finally {
        await worker.terminate();
      }
    }
  }, 30_000);

  it("starts a TypeScript module through tsx", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmalloc-"));
    const path = join(dir, "echo.ts");
    writeFileSync(path, echo.replace("parentPort.", "const n: number = 1;\nparentPort!.").replace("workerData, url", "workerData: [workerData, n], url"));
    const worker = startWorker(pathToFileURL(path), "data");
    try {
      const reply = await firstMessage<{ workerData: unknown; url: string; entry: string }>(worker);
      expect(reply.workerData).toEqual(["data", 1]);
      expect(reply.url).toMatch(/echo\.ts\?tsx-namespace=/);
      expect(reply.entry).not.toBe(path);
    } finally {
      await worker.terminate();
    }
  }, 30_000);
});

describe("peer contenders", () => {
  for (const [name, make] of [
    ["ThingPoolTarget", () => new ThingPoolTarget()],
    ["TypedArraysTarget", () => new TypedArraysTarget()],
  ] as const) {
    it(`${name} hands out distinct handles, takes size 0, and reuses what is freed`, () => {
      const target = make();
      const a = target.malloc(16);
      const b = target.calloc(4, 8);
      const c = target.malloc(0);
      expect(new Set([a, b, c]).size).toBe(3);
      for (const p of [a, b, c]) expect(p).toBeGreaterThan(0);
      const grown = target.realloc(a, 1000);
      expect(grown).toBeGreaterThan(0);
      target.free(grown);
      target.free(b);
      target.free(c);
      expect(target.malloc(16)).toBeGreaterThan(0);
    });
  }

  it("serve a trace's `m` events: ThingPoolTarget up to 16-byte alignment, TypedArraysTarget any", () => {
    const pool = new ThingPoolTarget();
    const p = pool.memalign(16, 40);
    expect(p).toBeGreaterThan(0);
    expect(p % 16).toBe(0);
    expect(pool.memalign(64, 40)).toBe(0);
    const arrays = new TypedArraysTarget();
    expect(arrays.memalign(4096, 40)).toBeGreaterThan(0);
  });

  it("TypedArraysTarget keeps its handle across realloc", () => {
    const target = new TypedArraysTarget();
    const p = target.malloc(4);
    expect(target.realloc(p, 8)).toBe(p);
    expect(target.realloc(p, 2)).toBe(p);
  });
});
