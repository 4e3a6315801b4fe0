/*
 * Reading a whole trace file at once (Node only): simpler than readTrace's stream when the file
 * is small or the caller is synchronous (tests, benchmarks).
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { isGzip, type Trace, traceName } from "./trace.ts";
import { parseTrace } from "./trace-parser.ts";

/**
 * Reads and parses a trace file: gzip-compressed, or plain text when it does not start with the
 * gzip magic. With `limit`, only the first `limit` events are kept.
 * @returns the trace, named after the file ({@link traceName})
 * @throws TraceFormatError for a line that is not a valid event; the file system's error
 *   (`ENOENT`, `EISDIR`, …) for a file that cannot be read; zlib's error for a damaged gzip file
 */
export function loadTrace(path: string, limit: number = Infinity): Trace {
  const raw = readFileSync(path);
  const text = isGzip(raw) ? gunzipSync(raw) : raw;
  return parseTrace(text, traceName(path), limit);
}
