/*
 * From the recorder's records to a trace file: each record is handed to @tsmalloc/trace's
 * TraceRecorder, which makes ids of the addresses and applies the format's normalisations
 * (realloc(NULL, n) is an `a`, free(NULL) and frees of blocks it never saw are left out, a NULL
 * return is a comment; glibc's realloc(p, 0) frees p), then through a TraceTally (the figures of
 * the summary) into a gzip-compressed TraceFileWriter.
 *
 *   PID.N.rec --readRecords--> decode --TraceRecorder--> TraceTally --> TraceFileWriter (.trace.gz)
 *
 * Two things the recorder's numbers can hold that a trace cannot: a size or count of 2^53 or
 * more (malloc(SIZE_MAX), a reallocarray that overflowed), which the C library refuses, so it is
 * a NULL return written as a comment here; and an alignment of 2^32 or more, which is left out
 * with its block (a later free of that block is then one of a block never seen). An alignment
 * that is not a power of two is rounded up to one, as glibc's memalign and aligned_alloc do.
 */
import { type RecorderCounts, type TraceFileWriter, TraceRecorder } from "@tsmalloc/trace";
import { CliError } from "./errors.ts";
import { RECORD_CALLS, type RecordHeader, RecordOp, readRecords } from "./record-file.ts";
import { type TallyFigures, TraceTally } from "./trace-tally.ts";

/** What the conversion of one image's records found. */
export interface ConvertedRecording {
  readonly header: RecordHeader;
  /** Records read: the calls the recorder saw. */
  readonly records: number;
  /** Calls by C function (`malloc`, `posix_memalign`, ...), those the recorder saw. */
  readonly calls: Readonly<Record<string, number>>;
  /** The trace's figures, and what the normalisations changed or left out. */
  readonly tally: TallyFigures;
  readonly counts: RecorderCounts;
  /** Requests of 2^53 bytes or more (all refused by the C library): NULL returns, as comments. */
  readonly tooLarge: number;
  /** Blocks aligned to 2^32 or more: left out. */
  readonly hugeAlignments: number;
}

/** Bytes of trace text that may wait for gzip before the conversion waits for it. */
const PENDING_TEXT = 8 << 20;

/** 2^32, and the high word from which a 64-bit number is 2^53 or more. */
const TWO_32 = 2 ** 32;
const HIGH_53 = 2 ** 21;

/**
 * Converts the records of `header`'s file into `file` (which the caller closes), with `comments`
 * first; while the program runs, `more` says whether more records may come (see readRecords).
 * @throws CliError when an address is 2^53 or more (tagged pointers), which a trace cannot name
 */
export async function convertRecording(header: RecordHeader, file: TraceFileWriter, comments: readonly string[], more?: () => Promise<boolean>): Promise<ConvertedRecording> {
  for (const line of comments) file.comment(line);
  const tally = new TraceTally(file);
  const recorder = new TraceRecorder(tally, { reallocZeroFrees: true });
  const calls = new Float64Array(RECORD_CALLS.length);
  let tooLarge = 0;
  let hugeAlignments = 0;

  const address = (low: number, high: number, index: number): number => {
    if (high >= HIGH_53) throw new CliError(`record: ${header.path}, call ${index + 1}: an address of 2^53 or more (0x${(high * TWO_32 + low).toString(16)}…), which a trace cannot hold (a machine with tagged pointers?)`);
    return high * TWO_32 + low;
  };
  /** A request the C library refused for its size: a comment, as TraceRecorder writes a NULL return. */
  const refused = (call: string, args: string): void => {
    tooLarge++;
    tally.comment(`${call}(${args}) returned NULL`);
  };
  const exact = (low: number, high: number): string => ((BigInt(high) << 32n) | BigInt(low)).toString();

  let seen = 0;
  const records = await readRecords(header.path, async (w, count) => {
    for (let i = 0; i < count; i++, seen++) {
      const at = i * 8;
      const op = w[at]! & 0xff;
      const call = (w[at]! >>> 8) & 0xff;
      const slot = call < calls.length ? call : 0;
      calls[slot] = calls[slot]! + 1;
      const aLow = w[at + 2]!;
      const aHigh = w[at + 3]!;
      const bLow = w[at + 4]!;
      const bHigh = w[at + 5]!;
      const result = address(w[at + 6]!, w[at + 7]!, seen);
      switch (op) {
        case RecordOp.Malloc:
          if (aHigh >= HIGH_53) refused("malloc", exact(aLow, aHigh));
          else recorder.malloc(aHigh * TWO_32 + aLow, result);
          break;
        case RecordOp.Calloc:
          if (aHigh >= HIGH_53 || bHigh >= HIGH_53) refused("calloc", `${exact(aLow, aHigh)}, ${exact(bLow, bHigh)}`);
          else recorder.calloc(aHigh * TWO_32 + aLow, bHigh * TWO_32 + bLow, result);
          break;
        case RecordOp.Realloc: {
          const old = address(aLow, aHigh, seen);
          if (bHigh >= HIGH_53) refused(RECORD_CALLS[call] ?? "realloc", `0x${old.toString(16)}, ${exact(bLow, bHigh)}`);
          else recorder.realloc(old, bHigh * TWO_32 + bLow, result);
          break;
        }
        case RecordOp.Free:
          recorder.free(address(aLow, aHigh, seen));
          break;
        case RecordOp.Memalign: {
          if (bHigh >= HIGH_53 || (result === 0 && aHigh >= HIGH_53)) {
            refused(RECORD_CALLS[call] ?? "memalign", `${exact(aLow, aHigh)}, ${exact(bLow, bHigh)}`);
            break;
          }
          // (a refused request keeps the alignment it asked for, in its comment)
          const alignment = result === 0 ? aHigh * TWO_32 + aLow : powerOfTwoAtLeast(aHigh * TWO_32 + aLow);
          if (result !== 0 && alignment >= TWO_32) {
            hugeAlignments++;
            tally.comment(`${RECORD_CALLS[call] ?? "memalign"}(${alignment}, ${bHigh * TWO_32 + bLow}): an alignment of 2^32 or more, which a trace cannot hold: left out`);
            break;
          }
          recorder.memalign(alignment, bHigh * TWO_32 + bLow, result);
          break;
        }
        default:
          throw new CliError(`record: ${header.path}, call ${seen + 1}: an unknown operation ${op} (a recorder of another version?)`);
      }
    }
    // the text waiting for gzip and the disk stays bounded, whatever the length of the recording;
    // below the bound, the next chunk is converted while gzip compresses this one (in zlib's thread)
    if (file.buffered > PENDING_TEXT) await file.drained();
  }, more);
  const named: Record<string, number> = {};
  RECORD_CALLS.forEach((name, i) => {
    if (name !== "" && calls[i]! > 0) named[name] = calls[i]!;
  });
  return { header, records, calls: named, tally: tally.figures, counts: recorder.counts, tooLarge, hugeAlignments };
}

/** The least power of two at least `n` (1 for 0): glibc's rounding of memalign's alignment. */
function powerOfTwoAtLeast(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}
