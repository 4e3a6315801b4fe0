import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Worker } from "node:worker_threads";
import { isTraceError, TraceErrorCode } from "@tsmalloc/trace";
import { startWorker } from "@tsmalloc/trace/bench";
import { describe, expect, it } from "vitest";
import { thrown } from "./helpers.ts";

/** The worker's first message (rejects on an error or an exit before one). */
function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`exited with ${code}`)));
  });
}

// posts back its workerData, and how it was started: a module run by tsx has a
// `?tsx-namespace=` URL and an eval'd entry point, one started as it is has neither
const echo = 'import { parentPort, workerData } from "node:worker_threads";\nparentPort.postMessage({ workerData, url: import.meta.url, entry: process.argv[1] });\n';

describe("startWorker", () => {
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

  it("refuses a path that is not a URL", () => {
    expect(isTraceError(thrown(() => startWorker("./echo.js" as never, null)), TraceErrorCode.InvalidArgument)).toBe(true);
  });
});
