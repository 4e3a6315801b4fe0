import { TraceError, TraceErrorCode } from "./errors.ts";

/** Options of a {@link ReplayMismatch}: the thrown error as `cause`, and whether it came after the last event. */
export interface ReplayMismatchOptions extends ErrorOptions {
  /** The fault was found by the checks after the last event (then `event` is the last event's number). */
  readonly atEnd?: boolean;
}

/**
 * What went wrong, at which event: a block's contents, alignment or bounds, or the allocator
 * threw (the thrown error is the `cause`). Events are numbered from 1; the message is
 * `event N: reason`, or `after event N (the end of the replay): reason` for a fault found by the
 * checks after the last event.
 */
export class ReplayMismatch extends TraceError {
  override readonly name: string = "ReplayMismatch";
  /** The event (from 1) that was being replayed; the events before it were applied. */
  readonly event: number;
  /** True when the fault was found after the last event (`event` is then that last event). */
  readonly atEnd: boolean;
  /** The message without `event N: `. */
  readonly reason: string;

  constructor(event: number, reason: string, options: ReplayMismatchOptions = {}) {
    const atEnd = options.atEnd === true;
    super(TraceErrorCode.ReplayMismatch, `${atEnd ? `after event ${event} (the end of the replay)` : `event ${event}`}: ${reason}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.event = event;
    this.atEnd = atEnd;
    this.reason = reason;
  }
}

/**
 * The allocator threw at `event`: a ReplayMismatch that says so and carries the error (a
 * ReplayMismatch thrown from inside is passed on as it is).
 */
export function thrownAt(event: number, error: unknown, atEnd: boolean = false): ReplayMismatch {
  if (error instanceof ReplayMismatch) return error;
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ReplayMismatch(event, `the allocator threw ${what}`, { cause: error, atEnd });
}
