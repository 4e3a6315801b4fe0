import { createRuntime, Domain } from "@tsmalloc/registry";
import { domainTarget, formatBytes, recordTrace, replayVerified, traceProfile } from "@tsmalloc/trace";

// a program that uses tsmalloc: records of 24 to 178 bytes in a table, a third of them dropped
const runtime = createRuntime({ allocator: "pymalloc" });
const recording = recordTrace(runtime, Domain.MEM);
const table: number[] = [];
for (let i = 0; i < 10_000; i++) {
  table.push(runtime.memMalloc(24 + (i % 8) * 22));
  if (i % 3 === 0) runtime.memFree(table.splice(i % table.length, 1)[0]!);
}
const { trace } = recording.stop(); // MEM has its own allocator back

const profile = traceProfile(trace!);
console.log(`${profile.events} events, peak ${formatBytes(profile.peakLiveBytes)} live after event ${profile.peakEvent}`);

// the same calls on a fresh runtime, every block filled and checked
const fresh = createRuntime({ allocator: "pymalloc" });
const result = replayVerified(trace!, domainTarget(fresh, Domain.MEM));
console.log(`replayed: ${result.failures} NULL returns, ${result.liveBlocks} blocks live at the end`);
console.log(fresh.debugMallocStats() === runtime.debugMallocStats() ? "the same heap, table for table" : "another heap");
