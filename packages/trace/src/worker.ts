/*
 * Workers that run TypeScript sources. Node 20 runs no .ts by itself and, unlike later versions,
 * does not carry `--import` loaders into workers; so a worker here starts as a tiny ES module
 * that loads the target through tsx's tsImport(), with the "@tsmalloc/source" condition on, so
 * that workspace packages resolve to their src/ as they do in tests.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const tsxApi = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs")).href;

/**
 * Starts a worker on the module at `url`, with `workerData`: a TypeScript module through tsx (as
 * above), a built `.js` module (the command line runs from `dist/`) as it is.
 */
export function startWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const code = `import(${JSON.stringify(tsxApi)}).then(({ tsImport }) => tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)}));`;
  return new Worker(code, {
    eval: true,
    workerData,
    execArgv: ["--conditions=@tsmalloc/source"],
  });
}

/** Resolves with the worker's first message; rejects on an error or an exit before one. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once("message", (message: T) => resolve(message));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`worker exited with code ${code} before replying`)));
  });
}

/**
 * Starts one worker per job on the TypeScript module at `url` and waits for each one's first
 * message (its report); the workers are terminated in every case.
 *
 * @returns the reports, in the order of `jobs`
 * @throws whatever {@link firstMessage} rejects with for the first worker that fails
 */
export async function runWorkers<T>(url: URL, jobs: readonly unknown[]): Promise<T[]> {
  const workers = jobs.map((job) => startWorker(url, job));
  try {
    return await Promise.all(workers.map((worker) => firstMessage<T>(worker)));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
