/*
 * Reading what the recorder (c/tsmalloc-record.c) wrote: one file per program image,
 * `PID.N.rec`, a header then fixed-size records, read here in large chunks into typed-array
 * views. The layout is the C file's (its header comment draws it); the numbers below must match.
 */
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";

/** The header's size, the records' offset. */
export const HEADER_SIZE = 65536;
/** Bytes per record. */
export const RECORD_SIZE = 32;

const MAGIC = "TSMREC1\0";
const BYTE_ORDER_MARK = 0x01020304;
const EXE_OFFSET = 256;
const ARGV_OFFSET = EXE_OFFSET + 4096;

/** The record's operation (its first byte); 0 ends the records. */
export const RecordOp = {
  Malloc: 1,
  Calloc: 2,
  Realloc: 3,
  Free: 4,
  Memalign: 5,
} as const;

/** The C function a record came from (its second byte), by number: the summary counts the calls by it. */
export const RECORD_CALLS: readonly string[] = ["", "malloc", "calloc", "realloc", "free", "memalign", "posix_memalign", "aligned_alloc", "valloc", "pvalloc", "reallocarray"];

/** One image's file: who wrote it, and the recorder's own counters. */
export interface RecordHeader {
  readonly path: string;
  readonly pid: number;
  readonly ppid: number;
  /** N of PID.N.rec: the programs the process had been before this one (0: the first). */
  readonly image: number;
  /** The image began at a fork: it has its parent's blocks, which it may free. */
  readonly forked: boolean;
  /** The program's path (/proc/self/exe) and its arguments (cut after about 60 KiB). */
  readonly exe: string;
  readonly argv: readonly string[];
  /** Calls made while the thread was inside the recorder (a signal handler's, the C library's inside realloc): not recorded. */
  readonly nested: number;
  /** Calls not recorded because the file could not grow (a full disk), and the errno. */
  readonly lost: number;
  readonly lostErrno: number;
  /** fork()s whose child was not recorded. */
  readonly forks: number;
  /** Calls served from the recorder's bootstrap buffer while it looked up the C library's functions. */
  readonly bootstrap: number;
  readonly pageSize: number;
}

/** A file that is not the recorder's (or is of another version, or cut short). */
export class RecordFileError extends Error {
  override readonly name = "RecordFileError";
}

/** The recorder's files in `dir`: `PID.N.rec`, by pid then N. */
export async function recordFiles(dir: string): Promise<{ readonly path: string; readonly pid: number; readonly image: number }[]> {
  const files = [];
  for (const name of await readdir(dir)) {
    const match = /^(\d+)\.(\d+)\.rec$/.exec(name);
    if (match !== null) files.push({ path: join(dir, name), pid: Number(match[1]), image: Number(match[2]) });
  }
  return files.sort((a, b) => a.pid - b.pid || a.image - b.image);
}

/**
 * Reads the header of the file at `path`.
 * @throws RecordFileError when the file is not one the recorder wrote, or is cut short
 */
export async function readRecordHeader(path: string): Promise<RecordHeader> {
  const file = await open(path, "r");
  try {
    const bytes = Buffer.alloc(HEADER_SIZE);
    const { bytesRead } = await file.read(bytes, 0, HEADER_SIZE, 0);
    if (bytesRead < HEADER_SIZE) throw new RecordFileError(`${path}: ${bytesRead} bytes, less than the recorder's header`);
    if (bytes.toString("latin1", 0, 8) !== MAGIC) throw new RecordFileError(`${path}: not a file of tsmalloc's recorder`);
    if (bytes.readUInt32LE(8) !== BYTE_ORDER_MARK) throw new RecordFileError(`${path}: written on a big-endian machine, which the reader does not read`);
    if (bytes.readUInt32LE(12) !== HEADER_SIZE || bytes.readUInt32LE(16) !== RECORD_SIZE) throw new RecordFileError(`${path}: another version of the recorder's layout`);
    const u64 = (offset: number): number => Number(bytes.readBigUInt64LE(offset));
    const exeLength = bytes.readUInt32LE(96);
    const argvLength = bytes.readUInt32LE(100);
    const argv = bytes.toString("utf8", ARGV_OFFSET, ARGV_OFFSET + argvLength).split("\0");
    if (argv.at(-1) === "") argv.pop();
    return {
      path,
      image: bytes.readUInt32LE(20),
      pid: u64(24),
      ppid: u64(32),
      forked: (u64(40) & 1) !== 0,
      nested: u64(48),
      lost: u64(56),
      lostErrno: u64(64),
      forks: u64(72),
      bootstrap: u64(80),
      pageSize: u64(88),
      exe: bytes.toString("utf8", EXE_OFFSET, EXE_OFFSET + exeLength),
      argv,
    };
  } finally {
    await file.close();
  }
}

/** Records read per chunk: 1 MiB. */
const CHUNK_RECORDS = 32_768;

/**
 * Reads the records of the file at `path` in chunks, until the first whose op is 0 (or the end of
 * the file), handing each chunk to `consume` as a view of 32-bit words (8 per record: op and call
 * in the low bytes of the first, then `a`, `b` and `result` as low/high word pairs) and the number
 * of records in it. `consume` may return a promise, which is awaited before the next chunk.
 *
 * While the program may still be writing, `more` says whether to wait for more: at the end of what
 * is there, the reader awaits it; true (after a pause of its choosing) reads on from there, false
 * (the writer is done) reads once more to the end and returns. Without it, the file is complete.
 * @returns the number of records
 */
export async function readRecords(path: string, consume: (words: Uint32Array, count: number) => void | Promise<void>, more?: () => Promise<boolean>): Promise<number> {
  const file = await open(path, "r");
  const chunk = Buffer.allocUnsafeSlow(CHUNK_RECORDS * RECORD_SIZE);
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
  let offset = HEADER_SIZE;
  let total = 0;
  let last = more === undefined;
  try {
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, offset);
      const whole = Math.floor(bytesRead / RECORD_SIZE);
      let count = 0;
      while (count < whole && (words[count * 8]! & 0xff) !== 0) count++;
      if (count > 0) await consume(words, count);
      total += count;
      offset += count * RECORD_SIZE;
      if (count === CHUNK_RECORDS) continue;
      if (last) return total;
      // (the writer ends its records one at a time, the op last: a record read with op 0 is read again)
      if (!(await more!())) last = true;
    }
  } finally {
    await file.close();
  }
}
