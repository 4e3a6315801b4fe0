/*
 * Starting the benchmark harness's workers. A built `.js` module starts as it is. A TypeScript
 * module (the harness run from its sources, in this repository) needs tsx: Node 20 runs no .ts
 * by itself and, unlike later versions, does not carry `--import` loaders into workers, so the
 * worker starts as a tiny ES module that loads the target through tsx's tsImport(), with the
 * "@tsmalloc/source" condition on (workspace packages resolve to their src/ as in tests). tsx is
 * looked for only then, so it is not a dependency of the published package.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { argumentError } from "./errors.ts";

/**
 * Starts a worker on the module at `url` with `workerData`: a `.js`/`.mjs` module as it is, a
 * `.ts` module through tsx (see the module comment).
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` when `url` is not a URL, or names a
 *   TypeScript module and tsx cannot be found
 */
export function startWorker(url: URL, workerData: unknown): Worker {
  if (!(url instanceof URL)) throw argumentError("startWorker", "url must be a URL (new URL(\"./worker.js\", import.meta.url))");
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const code = `import(${JSON.stringify(tsxApi())}).then(({ tsImport }) => tsImport(${JSON.stringify(url.href)}, ${JSON.stringify(url.href)}));`;
  return new Worker(code, { eval: true, workerData, execArgv: ["--conditions=@tsmalloc/source"] });
}

/** The URL of tsx's ESM API, found from this package (or the project it is installed in). */
function tsxApi(): string {
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  } catch {
    throw argumentError("startWorker", "a TypeScript module runs in a worker only with tsx installed (npm install --save-dev tsx), or build it to JavaScript first");
  }
  return pathToFileURL(join(dirname(manifest), "dist/esm/api/index.mjs")).href;
}
