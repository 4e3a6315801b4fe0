import { statSync } from "node:fs";
import { BUNDLED_TRACES, bundledTraceMeta, bundledTracePath } from "@tsmalloc/bundled-traces";

for (const { name, program } of BUNDLED_TRACES) {
  const meta = bundledTraceMeta(name);
  const megabytes = (statSync(bundledTracePath(name)).size / 1e6).toFixed(1);
  console.log(`${name}: ${meta.events} events, peak ${meta.peak_live_bytes} live bytes, ${megabytes} MB gzip`);
  console.log(`  ${program}`);
}
