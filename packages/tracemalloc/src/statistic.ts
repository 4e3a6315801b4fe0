import { optionError } from "./errors.ts";
import { formatSize } from "./format-size.ts";
import { Traceback } from "./traceback.ts";

/**
 * The blocks of one group of a snapshot (CPython's `tracemalloc.Statistic`): the group's key as a
 * traceback (one frame for `"lineno"`, one frame with line 0 for `"filename"`, the whole
 * traceback for `"traceback"`), their total size and their number.
 */
export class Statistic {
  /** The group's key. */
  readonly traceback: Traceback;
  /** Total size of the group's blocks, in requested bytes. */
  readonly size: number;
  /** Number of blocks. */
  readonly count: number;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `traceback` is a
   *   Traceback and `size` and `count` are non-negative safe integers
   */
  constructor(traceback: Traceback, size: number, count: number) {
    checkFigures("Statistic", traceback, { size, count }, false);
    this.traceback = traceback;
    this.size = size;
    this.count = count;
    Object.freeze(this);
  }

  /**
   * CPython's text: `app.js:12: size=97.7 KiB, count=1000, average=100 B` (no average when the
   * count is 0).
   */
  toString(): string {
    let text = `${this.traceback.toString()}: size=${formatSize(this.size, false)}, count=${this.count}`;
    if (this.count !== 0) text += `, average=${formatSize(this.size / this.count, false)}`;
    return text;
  }

  /** True when `other` is a Statistic of the same traceback, size and count. Never throws. */
  equals(other: unknown): boolean {
    return other instanceof Statistic && other.traceback.equals(this.traceback) && other.size === this.size && other.count === this.count;
  }

  /** CPython's order of statistics, largest first: size, then count, then traceback, all descending. */
  static compare(a: Statistic, b: Statistic): number {
    return b.size - a.size || b.count - a.count || Traceback.compare(b.traceback, a.traceback);
  }
}

/**
 * One group of a comparison of two snapshots (CPython's `tracemalloc.StatisticDiff`): its size
 * and count in the new snapshot and how they changed since the old one. A group found only in the
 * old snapshot has size and count 0 and negative differences.
 */
export class StatisticDiff {
  /** The group's key. */
  readonly traceback: Traceback;
  /** Total size in the new snapshot. */
  readonly size: number;
  /** `size` minus the size in the old snapshot. */
  readonly sizeDiff: number;
  /** Number of blocks in the new snapshot. */
  readonly count: number;
  /** `count` minus the number in the old snapshot. */
  readonly countDiff: number;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` unless `traceback` is a
   *   Traceback, `size` and `count` non-negative safe integers and the differences safe integers
   */
  constructor(traceback: Traceback, size: number, sizeDiff: number, count: number, countDiff: number) {
    checkFigures("StatisticDiff", traceback, { size, count }, false);
    checkFigures("StatisticDiff", traceback, { sizeDiff, countDiff }, true);
    this.traceback = traceback;
    this.size = size;
    this.sizeDiff = sizeDiff;
    this.count = count;
    this.countDiff = countDiff;
    Object.freeze(this);
  }

  /**
   * CPython's text: `app.js:12: size=97.7 KiB (+97.7 KiB), count=1000 (+1000), average=100 B`
   * (no average when the count is 0).
   */
  toString(): string {
    const countDiff = this.countDiff < 0 ? `${this.countDiff}` : `+${this.countDiff}`;
    let text = `${this.traceback.toString()}: size=${formatSize(this.size, false)} (${formatSize(this.sizeDiff, true)}), count=${this.count} (${countDiff})`;
    if (this.count !== 0) text += `, average=${formatSize(this.size / this.count, false)}`;
    return text;
  }

  /** True when `other` is a StatisticDiff with the same traceback and figures. Never throws. */
  equals(other: unknown): boolean {
    return (
      other instanceof StatisticDiff &&
      other.traceback.equals(this.traceback) &&
      other.size === this.size &&
      other.sizeDiff === this.sizeDiff &&
      other.count === this.count &&
      other.countDiff === this.countDiff
    );
  }

  /**
   * CPython's order of differences, largest change first: the size difference's magnitude, the
   * size, the count difference's magnitude, the count, then the traceback, all descending.
   */
  static compare(a: StatisticDiff, b: StatisticDiff): number {
    return (
      Math.abs(b.sizeDiff) - Math.abs(a.sizeDiff) ||
      b.size - a.size ||
      Math.abs(b.countDiff) - Math.abs(a.countDiff) ||
      b.count - a.count ||
      Traceback.compare(b.traceback, a.traceback)
    );
  }
}

function checkFigures(fn: string, traceback: unknown, figures: Record<string, number>, signed: boolean): void {
  if (!(traceback instanceof Traceback)) throw optionError(fn, "traceback must be a Traceback", traceback);
  for (const [name, value] of Object.entries(figures)) {
    if (!Number.isSafeInteger(value) || (!signed && value < 0)) throw optionError(fn, `${name} must be a ${signed ? "" : "non-negative "}safe integer`, value);
  }
}
