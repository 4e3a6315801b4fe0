/*
 * The status line: what the page has loaded, in one line, worked out again whenever the page
 * draws, so that it follows the live-bytes curve the replay holds (a request that returned NULL
 * is no live block, and leaving its block out can move the peak).
 *
 *   py_compileall: 995,232 events, 507,927 blocks; live bytes peak at 10.8 MiB after event 251,313
 *   big: 1 event, 2 blocks; live bytes peak at 0 B after event 1, without the block of 1 NULL return
 */
import { formatBytes, formatCount, formatCounted, type Trace } from "@tsmalloc/trace/browser";
import type { TraceSeries } from "./trace-series.ts";

/** The status line for `trace` with the live-bytes curve `series` holds now. */
export function statusLine(trace: Trace, series: TraceSeries): string {
  const failures = series.failures;
  const without = failures === 0 ? "" : `, without the ${failures === 1 ? "block" : "blocks"} of ${formatCounted(failures, "NULL return")}`;
  return `${trace.name}: ${formatCounted(trace.length, "event")}, ${formatCounted(trace.ids, "block")}; live bytes peak at ${formatBytes(series.peakLiveBytes)} after event ${formatCount(series.peakEvent)}${without}`;
}
