/*
 * Trace files on disk (Node only): the traces bundled with the project, their recorded
 * statistics, and reading a whole file at once. Streaming a large file is read-trace.ts's.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { isGzip, parseTrace, type Trace, traceName } from "./trace.ts";

/** The traces bundled with the project. */
export type BundledTrace = "gcc_cc1_wrapt" | "py_compileall";

/** The path of a bundled trace file. */
export function bundledTracePath(name: BundledTrace): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "traces", `${name}.trace.gz`);
}

/** Statistics recorded beside a bundled trace (its `.meta.json`). */
export interface TraceMeta {
  readonly events: number;
  readonly ids: number;
  readonly peak_live_bytes: number;
  readonly peak_live_blocks: number;
  readonly count: Readonly<Record<"a" | "c" | "r" | "f" | "m", number>>;
}

/** The `.meta.json` of a bundled trace. */
export function bundledTraceMeta(name: BundledTrace): TraceMeta {
  const path = bundledTracePath(name).replace(/\.trace\.gz$/, ".meta.json");
  return JSON.parse(readFileSync(path, "utf8")) as TraceMeta;
}

/**
 * Reads and parses a trace file (gzip-compressed, or plain text when it does not start with the
 * gzip magic). With `limit`, only the first `limit` events are kept.
 * @throws TraceFormatError for a malformed line; the file system's error for a missing file
 */
export function loadTrace(path: string, limit: number = Infinity): Trace {
  const raw = readFileSync(path);
  const text = isGzip(raw) ? gunzipSync(raw) : raw;
  return parseTrace(text, traceName(path), limit);
}
