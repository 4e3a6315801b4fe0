/*
 * The allocation traces tsmalloc ships (traces/README.md says how they were recorded), found
 * beside this module wherever the package is installed: `src/` in the repository, `dist/` once
 * built, both one level below `traces/`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BUNDLED_TRACES, type BundledTrace, isBundledTrace } from "./info.ts";

/** Statistics recorded beside a bundled trace (its `.meta.json`), as the recording tool wrote them. */
export interface TraceMeta {
  /** The program (`exe`) and its command line. */
  readonly exe: string;
  readonly cmdline: string;
  /** Events (lines), and block ids (one more than the largest). */
  readonly events: number;
  readonly ids: number;
  /** Events by letter. */
  readonly count: Readonly<Record<"a" | "c" | "r" | "f" | "m", number>>;
  /** Requests (`a`, `c`, `r`, `m` events) and the bytes they asked for (`c`: NMEMB × SIZE). */
  readonly requests: number;
  readonly total_bytes_requested: number;
  readonly peak_live_bytes: number;
  readonly peak_live_blocks: number;
  readonly live_at_end_blocks: number;
  readonly live_at_end_bytes: number;
  /** The share of requests of at most 512 bytes (pymalloc's range). */
  readonly share_le_512: number;
  /** Requests by size: `"0"`, `"1-16"`, `"17-32"`, … `"64K-1M"`, `">1M"`. */
  readonly size_hist: Readonly<Record<string, number>>;
  /** The C calls as the program made them, and what the recording dropped or rewrote, by reason. */
  readonly raw_calls: Readonly<Record<string, number>>;
  readonly dropped: Readonly<Record<string, number>>;
  readonly rewritten: Readonly<Record<string, number>>;
}

/** A name that is not one of {@link BUNDLED_TRACES}. Its `code` is stable. */
export class UnknownTraceError extends Error {
  override readonly name = "UnknownTraceError";
  readonly code = "ERR_TSMALLOC_UNKNOWN_TRACE";
}

/**
 * The absolute path of a bundled trace's file (`NAME.trace.gz`, gzip-compressed text in the
 * format of `@tsmalloc/trace`).
 * @throws UnknownTraceError when `name` is not a bundled trace
 */
export function bundledTracePath(name: BundledTrace): string {
  return fileURLToPath(traceFile(name, ".trace.gz"));
}

/**
 * The statistics recorded beside a bundled trace (`NAME.meta.json`).
 * @throws UnknownTraceError when `name` is not a bundled trace
 */
export function bundledTraceMeta(name: BundledTrace): TraceMeta {
  return JSON.parse(readFileSync(traceFile(name, ".meta.json"), "utf8")) as TraceMeta;
}

function traceFile(name: BundledTrace, extension: string): URL {
  if (!isBundledTrace(name)) {
    throw new UnknownTraceError(`${JSON.stringify(name)} is not a bundled trace; they are ${BUNDLED_TRACES.map((trace) => trace.name).join(", ")}`);
  }
  return new URL(`../traces/${name}${extension}`, import.meta.url);
}
