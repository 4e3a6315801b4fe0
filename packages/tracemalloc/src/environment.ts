import { type Environment, processEnvironment } from "@tsmalloc/registry";
import { MAX_NFRAME } from "./errors.ts";
import { defaultTracemalloc } from "./default-tracemalloc.ts";
import { ErrorCode, TsmallocError } from "@tsmalloc/memory";
import type { Tracemalloc } from "./tracemalloc.ts";

/** The environment variable that starts tracing the default runtime (CPython's `PYTHONTRACEMALLOC`). */
export const TSMALLOC_TRACEMALLOC_ENV = "TSMALLOC_TRACEMALLOC";

/**
 * Reads a `TSMALLOC_TRACEMALLOC` value, as CPython reads `PYTHONTRACEMALLOC`: unset, empty or
 * `0` is off; a decimal integer from 1 to 65535 is the number of frames to trace with.
 *
 * @returns the number of frames; 0 for off
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for anything else, with the message
 *   `TSMALLOC_TRACEMALLOC: invalid number of frames "<value>"; expected an integer from 0 (off) to 65535`
 */
export function parseTracemallocEnv(value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  const n = /^[0-9]{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(n <= MAX_NFRAME)) {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    throw new TsmallocError(ErrorCode.InvalidOption, `${TSMALLOC_TRACEMALLOC_ENV}: invalid number of frames ${shown}; expected an integer from 0 (off) to ${MAX_NFRAME}`);
  }
  return n;
}

/**
 * What the package does when it is first imported (CPython reads `PYTHONTRACEMALLOC` at start-up):
 * when `TSMALLOC_TRACEMALLOC` is a number of frames, the default runtime (created from the
 * environment now, if it was not yet) starts tracing with it.
 *
 * @param env where to read the variable; default `process.env` (empty where there is no process)
 * @returns the default runtime's tracer when it started (or was tracing already), else null
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a bad value (see
 *   {@link parseTracemallocEnv}); as `defaultRuntime()` for a bad `TSMALLOC`
 */
export function startFromEnvironment(env: Environment = processEnvironment()): Tracemalloc | null {
  const nframe = parseTracemallocEnv(env[TSMALLOC_TRACEMALLOC_ENV]);
  if (nframe === 0) return null;
  const tracer = defaultTracemalloc();
  tracer.start(nframe);
  return tracer;
}
