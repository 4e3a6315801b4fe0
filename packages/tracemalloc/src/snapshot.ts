import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";
import { isDomainNumber, optionError, requireBoolean } from "./errors.ts";
import { DomainFilter, Filter } from "./filter.ts";
import { Frame } from "./frame.ts";
import { builtinModule, type FileSystem } from "./host.ts";
import { Statistic, StatisticDiff } from "./statistic.ts";
import { Trace } from "./trace.ts";
import { Traceback } from "./traceback.ts";

/** How `statistics` and `compareTo` group traces: by file, by line, or by whole traceback. */
export type KeyType = "filename" | "lineno" | "traceback";

/** What `filterTraces` takes. */
export type TraceFilter = Filter | DomainFilter;

/** The `format` field of a dumped snapshot. */
export const SNAPSHOT_FORMAT = "tsmalloc-tracemalloc-snapshot";
/** The version of the dump format this build writes and reads. */
export const SNAPSHOT_VERSION = 1;

/** One group while grouping. */
interface Group {
  readonly traceback: Traceback;
  size: number;
  count: number;
}

/**
 * The traces of the memory blocks that were allocated at one point (CPython's
 * `tracemalloc.Snapshot`): take one with `takeSnapshot()`, then ask which lines hold the memory
 * (`statistics`), what grew since an older snapshot (`compareTo`), keep only some traces
 * (`filterTraces`), or save it (`dump`) and look at it later (`Snapshot.load`).
 */
export class Snapshot {
  /** The traces, one per live block, in no particular order. */
  readonly traces: readonly Trace[];
  /** The number of frames the tracer kept per traceback when the snapshot was taken. */
  readonly tracebackLimit: number;

  /**
   * @param traces the traces (copied)
   * @param tracebackLimit the number of frames per traceback they were captured with
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `traces` is an iterable of
   *   {@link Trace} and `tracebackLimit` a non-negative integer
   */
  constructor(traces: Iterable<Trace>, tracebackLimit: number) {
    if (typeof traces !== "object" || traces === null || typeof (traces as Partial<Iterable<Trace>>)[Symbol.iterator] !== "function") {
      throw optionError("Snapshot", "traces must be an iterable of Trace", traces);
    }
    const list = Object.freeze([...traces]);
    for (const trace of list) if (!(trace instanceof Trace)) throw optionError("Snapshot", "traces must be Trace objects", trace);
    if (!Number.isInteger(tracebackLimit) || tracebackLimit < 0) throw optionError("Snapshot", "tracebackLimit must be a non-negative integer", tracebackLimit);
    this.traces = list;
    this.tracebackLimit = tracebackLimit;
    Object.freeze(this);
  }

  /**
   * A new snapshot with the traces `filters` let through (CPython's `filter_traces`): a trace is
   * kept when it matches at least one inclusive filter (if there are any) and is not dropped by
   * an exclusive one. No filters: a copy. This snapshot is not changed.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `filters` is an iterable
   *   (an array) of {@link Filter} and {@link DomainFilter}
   */
  filterTraces(filters: Iterable<TraceFilter>): Snapshot {
    if (typeof filters !== "object" || filters === null || filters instanceof Filter || filters instanceof DomainFilter || typeof (filters as Partial<Iterable<TraceFilter>>)[Symbol.iterator] !== "function") {
      throw optionError("filterTraces", "filters must be an iterable (an array) of Filter and DomainFilter", filters);
    }
    const include: TraceFilter[] = [];
    const exclude: TraceFilter[] = [];
    for (const filter of filters) {
      if (!(filter instanceof Filter) && !(filter instanceof DomainFilter)) throw optionError("filterTraces", "each filter must be a Filter or a DomainFilter", filter);
      (filter.inclusive ? include : exclude).push(filter);
    }
    const kept = this.traces.filter(
      (trace) => (include.length === 0 || include.some((f) => f.matches(trace))) && exclude.every((f) => f.matches(trace)),
    );
    return new Snapshot(kept, this.tracebackLimit);
  }

  /**
   * The traces grouped by `keyType` (CPython's `statistics`), largest first: by size, then
   * count, then key, descending.
   *
   * - `"filename"`: one group per file of the most recent frame (its traceback is one frame with
   *   line 0, printed `app.js:0`);
   * - `"lineno"`: one group per file and line of the most recent frame;
   * - `"traceback"`: one group per whole traceback.
   *
   * With `cumulative`, every frame of each traceback counts the block, not only the most recent
   * (for `"filename"` and `"lineno"`).
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for another key type, a
   *   cumulative `"traceback"`, or a `cumulative` that is not a boolean
   */
  statistics(keyType: KeyType, cumulative: boolean = false): Statistic[] {
    const groups = groupBy(this.traces, keyType, cumulative, "statistics");
    const statistics: Statistic[] = [];
    for (const group of groups.values()) statistics.push(new Statistic(group.traceback, group.size, group.count));
    return statistics.sort(Statistic.compare);
  }

  /**
   * What changed since `old` (CPython's `compare_to`): the groups of both snapshots by
   * `keyType`, each with its size and count here and their differences, largest change first (by
   * the size difference's magnitude, the size, the count difference's magnitude, the count, then
   * the key, descending). A group only `old` has appears with size and count 0.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `old` is not a Snapshot, or
   *   as {@link Snapshot.statistics}
   */
  compareTo(old: Snapshot, keyType: KeyType, cumulative: boolean = false): StatisticDiff[] {
    if (!(old instanceof Snapshot)) throw optionError("compareTo", "old must be a Snapshot", old);
    const now = groupBy(this.traces, keyType, cumulative, "compareTo");
    const before = groupBy(old.traces, keyType, cumulative, "compareTo");
    const diffs: StatisticDiff[] = [];
    for (const [key, group] of now) {
      const previous = before.get(key);
      if (previous === undefined) {
        diffs.push(new StatisticDiff(group.traceback, group.size, group.size, group.count, group.count));
      } else {
        before.delete(key);
        diffs.push(new StatisticDiff(group.traceback, group.size, group.size - previous.size, group.count, group.count - previous.count));
      }
    }
    for (const group of before.values()) diffs.push(new StatisticDiff(group.traceback, 0, -group.size, 0, -group.count));
    return diffs.sort(StatisticDiff.compare);
  }

  /**
   * The snapshot as the text {@link Snapshot.dump} writes: JSON, see the README's "Snapshot
   * files" for the format.
   */
  serialize(): string {
    const frameIndex = new Map<Frame, number>();
    const frameByKey = new Map<string, number>();
    const frames: [string, number][] = [];
    const tracebackIndex = new Map<string, number>();
    const tracebacks: number[][] = [];
    const traces: [number, number, number][] = [];
    const indexOfFrame = (frame: Frame): number => {
      let index = frameIndex.get(frame);
      if (index === undefined) {
        const key = `${frame.filename}\u0000${frame.lineno}`;
        index = frameByKey.get(key);
        if (index === undefined) {
          index = frames.length;
          frames.push([frame.filename, frame.lineno]);
          frameByKey.set(key, index);
        }
        frameIndex.set(frame, index);
      }
      return index;
    };
    for (const trace of this.traces) {
      const key = Traceback.key(trace.traceback);
      let index = tracebackIndex.get(key);
      if (index === undefined) {
        index = tracebacks.length;
        tracebacks.push(trace.traceback.frames.map(indexOfFrame));
        tracebackIndex.set(key, index);
      }
      traces.push([trace.domain, trace.size, index]);
    }
    return JSON.stringify({ format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, tracebackLimit: this.tracebackLimit, frames, tracebacks, traces });
  }

  /**
   * Writes the snapshot into the file `path` (CPython's `dump`, which pickles): JSON, see the
   * README's "Snapshot files". Needs a file system (Node); elsewhere use {@link Snapshot.serialize}.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when `path` is not a non-empty
   *   string or there is no file system; the file system's error (ENOENT, EACCES, …) when the
   *   file cannot be written
   */
  dump(path: string): void {
    fileSystem("dump", path).writeFileSync(path, this.serialize());
  }

  /**
   * Reads a snapshot from the text {@link Snapshot.serialize} made.
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when the text is not a snapshot of
   *   this format and version; `ERR_TSMALLOC_INVALID_OPTION` when `text` is not a string
   */
  static parse(text: string): Snapshot {
    if (typeof text !== "string") throw optionError("Snapshot.parse", "text must be a string", text);
    return parseSnapshot(text, "Snapshot.parse");
  }

  /**
   * Reads the snapshot that {@link Snapshot.dump} wrote into the file `path` (CPython's `load`).
   *
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INCOMPATIBLE` when the file holds no snapshot of
   *   this format and version; `ERR_TSMALLOC_INVALID_OPTION` as {@link Snapshot.dump}; the file
   *   system's error (ENOENT, …) when the file cannot be read
   */
  static load(path: string): Snapshot {
    const text = fileSystem("Snapshot.load", path).readFileSync(path, "utf8");
    return parseSnapshot(text, `Snapshot.load: ${path}`);
  }
}

/** Groups `traces` for statistics and comparisons (CPython's `Snapshot._group_by`). */
function groupBy(traces: readonly Trace[], keyType: KeyType, cumulative: boolean, fn: string): Map<string, Group> {
  if (keyType !== "filename" && keyType !== "lineno" && keyType !== "traceback") {
    throw optionError(fn, `keyType must be "filename", "lineno" or "traceback"`, keyType);
  }
  requireBoolean(cumulative, fn, "cumulative");
  if (cumulative && keyType === "traceback") throw optionError(fn, `cumulative mode cannot be used with key type "traceback"`, keyType);
  const groups = new Map<string, Group>();
  const add = (traceback: Traceback, size: number): void => {
    const key = Traceback.key(traceback);
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, { traceback, size, count: 1 });
    } else {
      group.size += size;
      group.count += 1;
    }
  };
  if (!cumulative) {
    // the key of each distinct traceback, made once (traces of one snapshot share tracebacks)
    const keys = new Map<Traceback, Traceback>();
    for (const trace of traces) {
      let key = keys.get(trace.traceback);
      if (key === undefined) {
        key = keyType === "traceback" ? trace.traceback : frameKey(trace.traceback.frames.at(-1)!, keyType);
        keys.set(trace.traceback, key);
      }
      add(key, trace.size);
    }
  } else {
    const keys = new Map<Frame, Traceback>();
    for (const trace of traces) {
      for (const frame of trace.traceback.frames) {
        let key = keys.get(frame);
        if (key === undefined) {
          key = frameKey(frame, keyType);
          keys.set(frame, key);
        }
        add(key, trace.size);
      }
    }
  }
  return groups;
}

/** The one-frame traceback a frame is grouped under: its file and line, or its file and line 0. */
function frameKey(frame: Frame, keyType: KeyType): Traceback {
  return new Traceback([keyType === "lineno" ? frame : new Frame(frame.filename, 0)]);
}

/** `node:fs`, after checking the path. */
function fileSystem(fn: string, path: unknown): FileSystem {
  if (typeof path !== "string" || path === "") throw optionError(fn, "path must be a non-empty string", path);
  const fs = builtinModule<FileSystem>("node:fs");
  if (fs === undefined) throw optionError(fn, "there is no file system here (Node's fs); use serialize() and Snapshot.parse()", path);
  return fs;
}

/** Reads the JSON of a dumped snapshot, checking every part of it. */
function parseSnapshot(text: string, where: string): Snapshot {
  const bad = (why: string): TsmallocError => new TsmallocError(ErrorCode.Incompatible, `${where}: not a tracemalloc snapshot of format ${SNAPSHOT_FORMAT} version ${SNAPSHOT_VERSION}: ${why}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw bad(`the text is not JSON (${(error as Error).message})`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) throw bad("the text is not a JSON object");
  const record = data as Record<string, unknown>;
  if (record["format"] !== SNAPSHOT_FORMAT) throw bad(`its format is ${describeValue(record["format"])}`);
  if (record["version"] !== SNAPSHOT_VERSION) throw bad(`its version is ${describeValue(record["version"])}`);
  const limit = record["tracebackLimit"];
  if (!Number.isInteger(limit) || (limit as number) < 0) throw bad(`tracebackLimit is ${describeValue(limit)}`);
  const frames = arrayField(record, "frames", bad).map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string" || typeof entry[1] !== "number" || (entry[1] >>> 0) !== entry[1]) {
      throw bad(`frames[${i}] is not [filename, lineno]`);
    }
    return new Frame(entry[0], entry[1]);
  });
  const tracebacks = arrayField(record, "tracebacks", bad).map((entry, i) => {
    if (!Array.isArray(entry) || entry.length === 0) throw bad(`tracebacks[${i}] is not a non-empty array of frame indexes`);
    return new Traceback(
      entry.map((index: unknown) => {
        const frame = Number.isInteger(index) ? frames[index as number] : undefined;
        if (frame === undefined) throw bad(`tracebacks[${i}] refers to a frame that does not exist: ${describeValue(index)}`);
        return frame;
      }),
    );
  });
  const traces = arrayField(record, "traces", bad).map((entry, i) => {
    if (!Array.isArray(entry) || entry.length !== 3) throw bad(`traces[${i}] is not [domain, size, traceback]`);
    const [domain, size, index] = entry as unknown[];
    const traceback = Number.isInteger(index) ? tracebacks[index as number] : undefined;
    if (!isDomainNumber(domain) || !Number.isSafeInteger(size) || (size as number) < 0 || traceback === undefined) {
      throw bad(`traces[${i}] is not [domain, size, traceback]`);
    }
    return new Trace(domain, size as number, traceback);
  });
  return new Snapshot(traces, limit as number);
}

function arrayField(record: Record<string, unknown>, name: string, bad: (why: string) => TsmallocError): unknown[] {
  const value = record[name];
  if (!Array.isArray(value)) throw bad(`${name} is not an array`);
  return value;
}
