/*
 * `@tsmalloc/testkit/trace`: the part of the kit that runs anywhere (no Node API), for the
 * visualizer in the browser: the trace parser, the live-bytes profile and the timed replay loop.
 */
export { type TraceProfile, traceProfile } from "./profile.ts";
export { ReplayMismatch, type ReplayTarget, replayTimed } from "./replay.ts";
export {
  isGzip,
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  parseTrace,
  type Trace,
  TraceFormatError,
  traceName,
  TraceParser,
} from "./trace.ts";
