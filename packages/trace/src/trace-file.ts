/*
 * Writing a trace file (Node only): a TraceWriter whose chunks go through gzip (for a name that
 * ends with .gz, unless told otherwise) into a file. The file is opened at once, so that a path
 * that cannot be written is refused before any event; the writes are buffered by the streams,
 * and close() waits until everything is on the disk. A program that writes many events in a loop
 * awaits drained() now and then, so that what waits for gzip and the disk stays bounded.
 */
import { createWriteStream, openSync, type WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { createGzip, type Gzip } from "node:zlib";
import { argumentError, describe } from "./errors.ts";
import { TraceWriter } from "./trace-writer.ts";

/** Options of {@link createTraceFile}. */
export interface TraceFileOptions {
  /** gzip-compress the file. @defaultValue true when the path ends with `.gz` */
  readonly gzip?: boolean;
  /**
   * gzip's compression level, 1 (fastest) to 9 (smallest). On the bundled traces, 1 compresses
   * about four times as fast as 6, into a file a sixth to a fifth larger.
   * @defaultValue 6, zlib's default
   */
  readonly level?: number;
}

/** A {@link TraceWriter} into a file: write the events, then `await close()`. */
export class TraceFileWriter extends TraceWriter {
  /** The path as given. */
  readonly path: string;
  /** Whether the file is gzip-compressed. */
  readonly gzip: boolean;
  readonly #file: WriteStream;
  readonly #gzip: Gzip | null;
  #closing: Promise<number> | null = null;

  /** Use {@link createTraceFile}. */
  constructor(path: string, file: WriteStream, gzip: Gzip | null) {
    const sink = gzip ?? file;
    super((text) => void sink.write(text));
    if (gzip !== null) gzip.pipe(file);
    // an error (a full disk) is what close() rejects with, not an unhandled 'error' event
    file.on("error", ignore);
    gzip?.on("error", ignore);
    this.path = path;
    this.gzip = gzip !== null;
    this.#file = file;
    this.#gzip = gzip;
  }

  /** Bytes handed to the streams and not yet compressed and written (a few tens of KiB at most once {@link TraceFileWriter.drained}). */
  get buffered(): number {
    return (this.#gzip?.writableLength ?? 0) + this.#file.writableLength;
  }

  /**
   * Resolves once the streams have room again (at once when they have). Writing events never
   * waits: a loop that writes millions of them awaits this between batches, so that the text
   * waiting for gzip and the disk stays bounded. Never rejects: an error is close()'s to report.
   */
  drained(): Promise<void> {
    const stream = this.#gzip ?? this.#file;
    if (!stream.writableNeedDrain || stream.errored !== null || stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off("drain", done);
        stream.off("error", done);
        stream.off("close", done);
        resolve();
      };
      stream.on("drain", done);
      stream.on("error", done);
      stream.on("close", done);
    });
  }

  /**
   * Ends the trace (as {@link TraceWriter.end}) and waits until the file is written and closed.
   * Calling it again gives the same promise.
   * @returns the number of events written
   * @throws (rejects with) the file system's error when the file could not be written
   */
  close(): Promise<number> {
    this.#closing ??= (async () => {
      const events = this.end();
      if (this.#gzip !== null) this.#gzip.end();
      else this.#file.end();
      await finished(this.#file);
      return events;
    })();
    return this.#closing;
  }
}

/**
 * Creates (or truncates) the file at `path` and returns a writer into it.
 * @throws TraceError `ERR_TSMALLOC_TRACE_INVALID_ARGUMENT` for a path that is not a non-empty
 *   string or options that are not as documented (a level that is not 1 to 9); the file system's error (`ENOENT`, `EACCES`,
 *   `EISDIR`, …) when the file cannot be created
 */
export function createTraceFile(path: string, options: TraceFileOptions = {}): TraceFileWriter {
  if (typeof path !== "string" || path === "") throw argumentError("createTraceFile", "path must be a non-empty string");
  if (typeof options !== "object" || options === null) throw argumentError("createTraceFile", "options must be an object");
  if (options.gzip !== undefined && typeof options.gzip !== "boolean") throw argumentError("createTraceFile", "gzip must be a boolean");
  const level = options.level ?? 6;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw argumentError("createTraceFile", `level must be a whole number from 1 to 9, got ${describe(options.level)}`);
  const gzip = options.gzip ?? path.endsWith(".gz");
  const file = createWriteStream(path, { fd: openSync(path, "w") });
  return new TraceFileWriter(path, file, gzip ? createGzip({ level }) : null);
}

function ignore(): void {}
