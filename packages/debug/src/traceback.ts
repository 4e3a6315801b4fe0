/*
 * Allocation tracebacks, the hooks' stand-in for tracemalloc: when the `tracebacks` option is on,
 * every allocation captures the JavaScript stack (structured frames, formatted only when a
 * report needs them) into a table keyed by the block's address, as tracemalloc keeps its traces.
 * The table belongs to the thread and to the hooks' state block, not to one DebugAllocator.
 */

/** The allocation tracebacks of this thread: memory source -> state block -> data address -> stack. */
const tables = new WeakMap<object, Map<number, Map<number, CapturedStack>>>();

/**
 * The trace table of the hooks with state block `state` in the memory backed by `source`, shared
 * by every DebugAllocator of this thread on those hooks (so that a block freed through one of
 * them is forgotten by all).
 * @internal
 */
export function traceTable(source: object, state: number): Map<number, CapturedStack> {
  let byState = tables.get(source);
  if (byState === undefined) {
    byState = new Map();
    tables.set(source, byState);
  }
  let table = byState.get(state);
  if (table === undefined) {
    table = new Map();
    byState.set(state, table);
  }
  return table;
}

/** One frame of an allocation traceback. */
export interface TracebackFrame {
  /** The script's path (a file: URL becomes a path), or URL. */
  readonly file: string;
  /** The 1-based line number. */
  readonly line: number;
}

/** What a captured stack is kept in until a report formats it. @internal */
export interface CapturedStack {
  stack?: string;
}

type CaptureStackTrace = (target: object, constructorOpt?: unknown) => void;

/** V8's Error.captureStackTrace (Node, Chrome, Deno, Bun); undefined on other engines. */
const captureStackTrace: CaptureStackTrace | undefined = (Error as { captureStackTrace?: CaptureStackTrace }).captureStackTrace;

/** Frames of this module and of the hook to drop where captureStackTrace is missing. */
const INTERNAL_FRAMES = 3;

/**
 * Captures the current stack, dropping the frames of `skip` (the public method of the hooks that
 * was called) and everything it called, keeping at most `limit` frames.
 * @internal
 */
export function captureStack(limit: number, skip: unknown): CapturedStack {
  const holder: CapturedStack = {};
  if (captureStackTrace !== undefined) {
    const errorWithLimit = Error as { stackTraceLimit?: number | undefined };
    const saved = errorWithLimit.stackTraceLimit;
    errorWithLimit.stackTraceLimit = limit;
    try {
      captureStackTrace(holder, skip);
    } finally {
      errorWithLimit.stackTraceLimit = saved;
    }
  } else {
    const stack = new Error().stack;
    if (stack !== undefined) holder.stack = stack.split("\n").slice(INTERNAL_FRAMES).join("\n");
  }
  return holder;
}

/** `at fn (file:line:col)`, `at file:line:col` (V8) or `fn@file:line:col` (SpiderMonkey, JSC). */
const FRAME = /^\s*(?:at\s+(?:.*?\s+\()?|[^@]*@)(.+?):(\d+):\d+\)?\s*$/;

function displayFile(file: string): string {
  if (!file.startsWith("file://")) return file;
  let path = file.slice("file://".length);
  try {
    path = decodeURIComponent(path);
  } catch {
    // keep the encoded form
  }
  // file:///C:/x on Windows
  return /^\/[A-Za-z]:\//.test(path) ? path.slice(1) : path;
}

/**
 * The frames of a captured stack, most recent call first, at most `limit`; frames without a
 * location (native code) are left out.
 * @internal
 */
export function stackFrames(captured: CapturedStack, limit: number): TracebackFrame[] {
  const frames: TracebackFrame[] = [];
  const stack = captured.stack;
  if (typeof stack !== "string") return frames;
  for (const text of stack.split("\n")) {
    const match = FRAME.exec(text);
    if (match === null) continue;
    frames.push({ file: displayFile(match[1]!), line: Number(match[2]) });
    if (frames.length >= limit) break;
  }
  return frames;
}

/**
 * The traceback part of a report, as CPython's `_PyMem_DumpTraceback` prints it: the advice to
 * enable tracing when `frames` is null (tracebacks off), nothing when tracing is on but the block
 * has no traceback (it was allocated by another thread's hooks), else the frames.
 * @internal
 */
export function tracebackText(frames: readonly TracebackFrame[] | null | undefined): string {
  if (frames === null) return "Enable tracemalloc to get the memory block allocation traceback\n\n";
  if (frames === undefined) return "";
  let text = "Memory block allocated at (most recent call first):\n";
  for (const frame of frames) text += `  File "${frame.file}", line ${frame.line}\n`;
  return `${text}\n`;
}
