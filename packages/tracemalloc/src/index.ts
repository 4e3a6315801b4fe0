import "./start-from-environment.ts";

export {
  clearTraces,
  defaultTracemalloc,
  getObjectTraceback,
  getRemoteFreesLost,
  getTracebackLimit,
  getTracedMemory,
  getTracemallocMemory,
  isTracing,
  resetPeak,
  start,
  stop,
  takeSnapshot,
  trackExternal,
  untrackExternal,
} from "./default-tracemalloc.ts";
export { parseTracemallocEnv, startFromEnvironment, TSMALLOC_TRACEMALLOC_ENV } from "./environment.ts";
export { MAX_NFRAME } from "./errors.ts";
export { MAX_SHARED_TRACERS } from "./remote-frees.ts";
export { DomainFilter, Filter } from "./filter.ts";
export { formatSize } from "./format-size.ts";
export { Frame } from "./frame.ts";
export { type KeyType, Snapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, type TraceFilter } from "./snapshot.ts";
export { Statistic, StatisticDiff } from "./statistic.ts";
export { DEFAULT_DOMAIN, Trace } from "./trace.ts";
export { Traceback } from "./traceback.ts";
export { createTracemalloc, Tracemalloc } from "./tracemalloc.ts";
