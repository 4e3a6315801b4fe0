/*
 * Where events go, one at a time: a TraceWriter (the text format, to a file or a string), a
 * TraceBuilder (typed arrays: a Trace in memory), or anything of the caller's with these methods.
 * The events name blocks by id, as the format does; TraceRecorder turns calls that name them by
 * address into these.
 */
import { argumentError } from "./errors.ts";
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "./trace.ts";

/**
 * A consumer of trace events, one method per line of the format. A sink that checks the
 * format's rules (TraceWriter and TraceBuilder do) throws `TraceError`
 * `ERR_TSMALLOC_TRACE_INVALID_EVENT` for an event that breaks them, and keeps nothing of it.
 */
export interface TraceSink {
  /** `a ID SIZE`: `malloc(SIZE)` gave block ID. */
  malloc(id: number, size: number): void;
  /** `c ID NMEMB SIZE`: `calloc(NMEMB, SIZE)` gave block ID. */
  calloc(id: number, nmemb: number, size: number): void;
  /** `r OLDID NEWID SIZE`: `realloc` of block OLDID to SIZE bytes gave block NEWID (OLDID is gone). */
  realloc(oldId: number, newId: number, size: number): void;
  /** `f ID`: block ID was freed. */
  free(id: number): void;
  /** `m ID ALIGN SIZE`: an aligned allocation of SIZE bytes gave block ID. */
  memalign(id: number, alignment: number, size: number): void;
  /** `# TEXT`: a comment (no event); a sink that keeps no text ignores it. */
  comment(text: string): void;
}

/**
 * Hands every event of `trace` to `sink`, in order (the first `limit` of them).
 * @returns the number of events written
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` for a negative or NaN `limit`; whatever
 *   the sink throws
 */
export function writeTrace(trace: Trace, sink: TraceSink, limit: number = trace.length): number {
  if (!(limit >= 0)) throw argumentError("writeTrace", `limit must be a non-negative number, got ${String(limit)}`);
  const end = Math.min(limit, trace.length);
  const { op, id, arg, size } = trace;
  for (let i = 0; i < end; i++) {
    switch (op[i]) {
      case OP_MALLOC:
        sink.malloc(id[i]!, size[i]!);
        break;
      case OP_CALLOC:
        sink.calloc(id[i]!, arg[i]!, size[i]!);
        break;
      case OP_REALLOC:
        sink.realloc(arg[i]!, id[i]!, size[i]!);
        break;
      case OP_FREE:
        sink.free(id[i]!);
        break;
      case OP_MEMALIGN:
        sink.memalign(id[i]!, arg[i]!, size[i]!);
        break;
    }
  }
  return end;
}
