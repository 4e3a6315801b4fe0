/*
 * Reading a trace file as a stream: the compressed bytes come off the disk in chunks, go through
 * gunzip (when the file starts with the gzip magic) and into a TraceParser, so that a large trace
 * is never held as text in one piece and a progress callback can follow the file as it is read.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { isGzip, type Trace, traceName } from "./trace.ts";
import { TraceParser } from "./trace-parser.ts";

/** Options of {@link readTrace}. */
export interface ReadTraceOptions {
  /** Keep only the first `limit` events (the rest of the file is not read). */
  readonly limit?: number;
  /** Called as the file is read, with the bytes read so far and the file's size. */
  readonly onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Bytes read from the file at a time (about ten progress steps for a 2.8 MB trace). */
const FILE_CHUNK_BYTES = 256 << 10;
/** Bytes gunzip hands on at a time. */
const TEXT_CHUNK_BYTES = 1 << 20;

/**
 * Reads and parses a trace file, gzip-compressed or plain, as a stream.
 * @returns the parsed trace (named after the file, as {@link loadTrace} names it)
 * @throws TraceFormatError for a line that is not a valid event (with its number); the file system's error
 *   (`ENOENT`, `EISDIR`, ...) for a file that cannot be read; zlib's error for a damaged gzip file
 */
export async function readTrace(path: string, options: ReadTraceOptions = {}): Promise<Trace> {
  const totalBytes = statSync(path).size;
  const magic = new Uint8Array(2);
  const fd = openSync(path, "r");
  try {
    readSync(fd, magic, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  const parser = new TraceParser(traceName(path), options.limit ?? Infinity);
  const onProgress = options.onProgress;
  let bytesRead = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done): void {
      bytesRead += chunk.length;
      onProgress?.(bytesRead, totalBytes);
      done(null, chunk);
    },
  });
  // The sink stops the pipeline (abort) when the limit is reached or a line is malformed; the
  // pipeline then rejects with an AbortError, and the parser's own error is what is thrown.
  const stop = new AbortController();
  let malformed: unknown = null;
  const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
      try {
        parser.push(chunk);
      } catch (error) {
        malformed = error;
      }
      if (malformed !== null || parser.full) {
        stop.abort();
        return;
      }
    }
  };
  const file = createReadStream(path, { highWaterMark: FILE_CHUNK_BYTES });
  try {
    if (isGzip(magic)) await pipeline(file, counter, createGunzip({ chunkSize: TEXT_CHUNK_BYTES }), sink, { signal: stop.signal });
    else await pipeline(file, counter, sink, { signal: stop.signal });
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  }
  if (malformed !== null) throw malformed;
  return parser.end();
}
