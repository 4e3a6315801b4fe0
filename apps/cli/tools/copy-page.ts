/*
 * Part of `pnpm build`: copies the built visualizer (apps/visualizer/dist, which turbo builds
 * first: the app is a devDependency of this package) into dist/visualizer/, without the page's
 * copies of the bundled traces, which src/page-files.ts explains. A trace asset is left out only
 * when its bytes are those of the bundled trace of its name; anything else is copied as it is.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { BUNDLED_TRACES, bundledTracePath } from "@tsmalloc/bundled-traces";
import { PAGE_DIR, PAGE_TRACES_FILE } from "../src/page-files.ts";

const source = join(dirname(createRequire(import.meta.url).resolve("@tsmalloc/visualizer/package.json")), "dist");
if (!existsSync(join(source, "index.html"))) {
  process.stderr.write(`@tsmalloc/cli: ${source} has no index.html: build the visualizer first (pnpm turbo run build --filter=@tsmalloc/cli...)\n`);
  process.exit(1);
}

rmSync(PAGE_DIR, { recursive: true, force: true });
mkdirSync(PAGE_DIR, { recursive: true });
const traces: Record<string, string> = {};
let copied = 0;
for (const entry of readdirSync(source, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const from = join(entry.parentPath, entry.name);
  const relative = from.slice(source.length + 1);
  const trace = BUNDLED_TRACES.find((t) => entry.name.startsWith(`${t.name}.trace-`) && entry.name.endsWith(".gz"));
  if (trace !== undefined && readFileSync(from).equals(readFileSync(bundledTracePath(trace.name)))) {
    traces[relative.split("\\").join("/")] = trace.name;
    continue;
  }
  mkdirSync(dirname(join(PAGE_DIR, relative)), { recursive: true });
  cpSync(from, join(PAGE_DIR, relative));
  copied++;
}
writeFileSync(join(PAGE_DIR, PAGE_TRACES_FILE), `${JSON.stringify(traces, null, 2)}\n`);
process.stdout.write(`@tsmalloc/cli: the visualizer page in dist/visualizer (${copied} files; ${Object.keys(traces).length} traces served from @tsmalloc/bundled-traces)\n`);
