/*
 * Figures as tsmalloc prints them, in the command line and in the page alike: counts with
 * thousands separators, byte sizes in binary units with three significant figures, times per
 * event, ratios.
 *
 *   formatCount(1234567)          "1,234,567"
 *   formatCounted(1, "event")     "1 event"         formatCounted(2, "event")  "2 events"
 *   formatBytes(11323148)         "10.8 MiB"        formatBytes(1031680)       "0.984 MiB"
 *   formatExactBytes(11323148)    "11,323,148 B (10.8 MiB)"
 *   formatNanoseconds(68.74)      "68.7"            formatNanoseconds(169.2)   "169"
 *   formatRatio(1.2)              "1.20×"           formatRatio(null)          "-"
 */

const UNITS = ["KiB", "MiB", "GiB", "TiB"];

/** An integer with `,` between thousands (a fraction is rounded): `1,234,567`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A count and its noun, plural unless the count is 1: `1 event`, `12,002 blocks`. */
export function formatCounted(n: number, noun: string, plural: string = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : plural}`;
}

/**
 * A byte count for the eye: below 1 KiB the exact count (`512 B`), above it three significant
 * figures in the unit that keeps the number below 1000 (`1.50 KiB`, `10.8 MiB`, `0.984 MiB`,
 * `1.00 GiB`). `–` for a value that is not a finite number (not measured yet).
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "–";
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`;
  let value = n / 1024;
  let unit = 0;
  // the unit is chosen after rounding: 1,048,000 B is 0.999 MiB, not 1023 KiB (nor 1.00e+3 KiB)
  while (Math.abs(Number(value.toPrecision(3))) >= 1000 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(3)} ${UNITS[unit]}`;
}

/** The exact count and the size at a glance: `11,323,148 B (10.8 MiB)`; below 1 KiB just `512 B`. */
export function formatExactBytes(n: number): string {
  return Math.abs(n) < 1024 ? formatBytes(n) : `${formatCount(n)} B (${formatBytes(n)})`;
}

/** Nanoseconds (per event, per pair): one decimal below 100, none from 100 on: `68.7`, `169`. */
export function formatNanoseconds(ns: number): string {
  return ns >= 99.95 ? ns.toFixed(0) : ns.toFixed(1);
}

/** Milliseconds: one decimal below 10, none from 10 on. */
export function formatMilliseconds(ms: number): string {
  return ms >= 9.95 ? ms.toFixed(0) : ms.toFixed(1);
}

/** A ratio with two decimals and a `×`: `1.20×`; `-` for null (no ratio: nothing to divide by). */
export function formatRatio(ratio: number | null): string {
  return ratio === null || !Number.isFinite(ratio) ? "-" : `${ratio.toFixed(2)}×`;
}
