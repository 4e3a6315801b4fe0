import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTraceFile, formatBytes, readTrace, traceProfile } from "@tsmalloc/trace";

// a trace written event by event: blocks are named by id, as in the format
const path = join(mkdtempSync(join(tmpdir(), "trace-")), "by-hand.trace.gz");
const file = createTraceFile(path); // gzip-compressed, from the name
file.comment("three blocks, one of them grown");
file.malloc(0, 4096);
file.calloc(1, 16, 64);
file.realloc(0, 2, 65536);
file.free(1);
await file.close();

const trace = await readTrace(path);
const profile = traceProfile(trace);
console.log(`${trace.name}: ${profile.events} events, peak ${formatBytes(profile.peakLiveBytes)} after event ${profile.peakEvent}`);
for (const bar of profile.sizeHistogram) if (bar.count > 0) console.log(`  ${bar.label} B: ${bar.count}`);
