/*
 * The visualizer page as this package ships it. The build (tools/copy-page.ts) copies
 * apps/visualizer's built dist/ into dist/visualizer/, so that an installed `tsmalloc visualize`
 * needs nothing of the visualizer app (which is private, and never published):
 *
 *   dist/visualizer/index.html
 *   dist/visualizer/assets/index-HASH.js, .css, .js.map
 *   dist/visualizer/bundled-traces.json   { "assets/py_compileall.trace-HASH.gz": "py_compileall", ... }
 *
 * The page's copies of the bundled traces (assets/NAME.trace-HASH.gz, 7 MB together) are the very
 * bytes of @tsmalloc/bundled-traces' files, which the command depends on already: the copy leaves
 * them out, and bundled-traces.json tells the server which asset is which trace, so that it
 * answers those requests from @tsmalloc/bundled-traces.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundledTracePath, isBundledTrace } from "@tsmalloc/bundled-traces";

/** Where the built page is: dist/visualizer/ of this package (from src/ and from dist/ alike). */
export const PAGE_DIR: string = fileURLToPath(new URL("../dist/visualizer/", import.meta.url));

/** The file, in the page's folder, that maps the page's trace assets to bundled traces. */
export const PAGE_TRACES_FILE = "bundled-traces.json";

/**
 * The page's assets that are served from @tsmalloc/bundled-traces: request path (`/assets/...`)
 * to the file's absolute path. Empty when the page's folder has no {@link PAGE_TRACES_FILE}.
 * @throws Error when that file is there but names something that is not a bundled trace
 */
export function pageTraceFiles(pageDir: string): ReadonlyMap<string, string> {
  let text: string;
  try {
    text = readFileSync(join(pageDir, PAGE_TRACES_FILE), "utf8");
  } catch {
    return new Map();
  }
  const files = new Map<string, string>();
  for (const [asset, name] of Object.entries(JSON.parse(text) as Record<string, unknown>)) {
    if (typeof name !== "string" || !isBundledTrace(name)) throw new Error(`${PAGE_TRACES_FILE}: ${JSON.stringify(name)} is not a bundled trace`);
    files.set(`/${asset}`, bundledTracePath(name));
  }
  return files;
}
