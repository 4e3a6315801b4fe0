/** Shared number formats of the page. */

/** An integer with `,` between thousands: 1,402,000. */
export function count(value: number): string {
  return Math.trunc(value).toLocaleString("en-US");
}

/** A count and its noun, plural unless the count is 1: `1 segment`, `12,002 blocks`. */
export function counted(value: number, noun: string): string {
  return `${count(value)} ${noun}${value === 1 ? "" : "s"}`;
}

/** Bytes in binary units with three significant figures (at least): 512 B, 12.9 MiB, 1020 KiB. */
export function bytes(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = value;
  let unit = 0;
  while (Math.abs(v) >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(v)} B` : `${Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)} ${units[unit]}`;
}

/** An address as the library prints it: `0x1103d0`. */
export function hex(address: number): string {
  return `0x${address.toString(16)}`;
}
