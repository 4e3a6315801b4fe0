/**
 * The stable error codes of `@tsmalloc/trace`. Every error the package throws for bad input is a
 * {@link TraceError} whose `code` is one of these; codes never change meaning, messages may.
 *
 * | code | thrown when |
 * |---|---|
 * | `ERR_TSMALLOC_TRACE_FORMAT` | a line of a trace file is not a valid event ({@link TraceFormatError}, with the line) |
 * | `ERR_TSMALLOC_TRACE_INVALID_EVENT` | an event handed to a writer or builder breaks the format's rules (an id that is not live, a number out of range) |
 * | `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` | an argument or option is not what the function takes |
 * | `ERR_TSMALLOC_TRACE_STATE` | a call comes at the wrong time (a parser used after `end()`, a recording stopped twice) |
 * | `ERR_TSMALLOC_REPLAY_MISMATCH` | a replay found a fault, or the allocator threw ({@link ReplayMismatch}) |
 *
 * (The package depends on no other tsmalloc package, so these are not `@tsmalloc/memory`'s
 * `TsmallocError`s: the allocators' own tests replay traces, which puts this package below them.)
 */
export const TraceErrorCode = {
  Format: "ERR_TSMALLOC_TRACE_FORMAT",
  InvalidEvent: "ERR_TSMALLOC_TRACE_INVALID_EVENT",
  InvalidArgument: "ERR_TSMALLOC_TRACE_INVALID_ARGUMENT",
  State: "ERR_TSMALLOC_TRACE_STATE",
  ReplayMismatch: "ERR_TSMALLOC_REPLAY_MISMATCH",
} as const;

/** One of the {@link TraceErrorCode} strings. */
export type TraceErrorCode = (typeof TraceErrorCode)[keyof typeof TraceErrorCode];

/** The error class of `@tsmalloc/trace`: check `code` (stable) rather than the message. */
export class TraceError extends Error {
  override readonly name: string = "TraceError";
  /** What went wrong, as a stable code. */
  readonly code: TraceErrorCode;

  constructor(code: TraceErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * A line of a trace file that is not a valid event. The message is `source:line: reason`; the
 * reason names the field that is missing or bad and quotes the line.
 */
export class TraceFormatError extends TraceError {
  override readonly name: string = "TraceFormatError";
  /** The file's name as the reader was given it. */
  readonly source: string;
  /** 1-based line number in the file. */
  readonly line: number;
  /** What is wrong with the line (the message without `source:line: `). */
  readonly reason: string;

  constructor(source: string, line: number, reason: string) {
    super(TraceErrorCode.Format, `${source}:${line}: ${reason}`);
    this.source = source;
    this.line = line;
    this.reason = reason;
  }
}

/** True when `value` is a {@link TraceError} (of the given `code`, when one is given). Never throws. */
export function isTraceError(value: unknown, code?: TraceErrorCode): value is TraceError {
  return value instanceof TraceError && (code === undefined || value.code === code);
}

/** A TraceError for a bad argument: `fn: why`. */
export function argumentError(fn: string, why: string): TraceError {
  return new TraceError(TraceErrorCode.InvalidArgument, `${fn}: ${why}`);
}

/** How a value reads in a message: strings quoted, other values as they print. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === "bigint") return `${value}n (a bigint)`;
  if (typeof value === "function") return "a function";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  return Object.is(value, -0) ? "-0" : String(value);
}
