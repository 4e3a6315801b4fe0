/*
 * Helpers shared by the tracemalloc tests: where a line of a test file is (as the stack, mapped
 * by vitest, reports it), tracers over fresh runtimes, error capture.
 */
import { fileURLToPath } from "node:url";
import { DebugCorruptionError } from "@tsmalloc/debug";
import { type ErrorCode, TsmallocError } from "@tsmalloc/memory";
import { createRuntime, type Runtime, type RuntimeOptions } from "@tsmalloc/registry";
import { createTracemalloc, Frame, type Tracemalloc, Traceback } from "@tsmalloc/tracemalloc";
import { afterEach, expect } from "vitest";

/** The file and line of the code that calls this (vitest maps the stack to the test's source). */
export function here(): Frame {
  const lines = new Error().stack!.split("\n").filter((l) => /^\s*at /.test(l));
  const match = /\(?([^\s(]+):(\d+):\d+\)?$/.exec(lines[1]!)!;
  return new Frame(match[1]!, Number(match[2]));
}

/** A traceback of one frame. */
export function traceback1(filename: string, lineno: number): Traceback {
  return new Traceback([new Frame(filename, lineno)]);
}

const started: Tracemalloc[] = [];

/** A new runtime and its tracer, started with `nframe` frames; stopped after the test. */
export function traced(nframe: number = 1, options: RuntimeOptions = {}): { runtime: Runtime; tracer: Tracemalloc } {
  const runtime = createRuntime(options);
  const tracer = createTracemalloc(runtime);
  tracer.start(nframe);
  started.push(tracer);
  return { runtime, tracer };
}

afterEach(() => {
  for (const tracer of started.splice(0)) tracer.stop();
});

/** Runs `fn` and returns what it throws; fails when it throws nothing. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error, but nothing was thrown");
}

/** Expects `fn` to throw a TsmallocError with `code`. */
export function expectError(fn: () => unknown, code: ErrorCode): TsmallocError {
  const error = thrown(fn);
  if (!(error instanceof TsmallocError)) throw new Error(`expected a TsmallocError, got ${String(error)}`);
  expect(error.code, error.message).toBe(code);
  return error;
}

/** Runs `fn` and returns the DebugCorruptionError it throws. */
export function corruption(fn: () => unknown): DebugCorruptionError {
  const error = thrown(fn);
  if (!(error instanceof DebugCorruptionError)) throw new Error(`expected a DebugCorruptionError, got ${String(error)}`);
  return error;
}

/** The traces of a snapshot as comparable tuples: domain, size, frames (oldest first, "file:line"). */
export function tuples(traces: readonly { domain: number; size: number; traceback: Traceback }[]): [number, number, string[]][] {
  return traces.map((t) => [t.domain, t.size, t.traceback.frames.map(String)]);
}

/**
 * The caller's stack, most recent frame first, as `file:line` strings: what vitest's mapped
 * `Error.stack` shows, without built-in frames (which have no line). The first entry is the line
 * that called this, so `[runtime.memMalloc(n), stackHere()]` on one line gives the frames a
 * traceback of that allocation must have.
 */
export function stackHere(): string[] {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  const stack = new Error().stack!;
  Error.stackTraceLimit = saved;
  const frames: string[] = [];
  for (const line of stack.split("\n").slice(2)) {
    const match = /^\s*at (?:.*?\()?(.+):(\d+):\d+\)?$/.exec(line);
    if (match === null) continue;
    const file = match[1]!.startsWith("file://") ? fileURLToPath(match[1]!) : match[1]!;
    frames.push(`${file}:${match[2]}`);
  }
  return frames;
}

/** The frames of `traceback`, most recent first, as `file:line` strings. */
export function recentFirst(traceback: Traceback | null): string[] {
  return traceback === null ? [] : traceback.frames.map(String).reverse();
}
