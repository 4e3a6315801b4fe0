import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";

/** The most frames a traceback may hold (CPython's `MAX_NFRAME`, `UINT16_MAX`). */
export const MAX_NFRAME = 65535;

/** The error for a bad argument or option. @internal */
export function optionError(fn: string, what: string, value: unknown): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `${fn}: ${what}, got ${describeValue(value)}`);
}

/** True for an integer in [0, 2^32): a trace domain (CPython's `unsigned int`). @internal */
export function isDomainNumber(value: unknown): value is number {
  return typeof value === "number" && (value >>> 0) === value;
}

/** Checks a trace domain number. @internal */
export function requireDomainNumber(value: unknown, fn: string, what: string = "domain"): number {
  if (!isDomainNumber(value)) throw optionError(fn, `${what} must be an integer from 0 to 2^32 - 1`, value);
  return value;
}

/** Checks a number of frames (CPython's `nframe`: 1 to 65535). @internal */
export function requireNframe(value: unknown, fn: string): number {
  if (!(typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_NFRAME)) {
    throw optionError(fn, `the number of frames must be an integer in [1; ${MAX_NFRAME}]`, value);
  }
  return value;
}

/** Checks a boolean argument. @internal */
export function requireBoolean(value: unknown, fn: string, what: string): boolean {
  if (typeof value !== "boolean") throw optionError(fn, `${what} must be a boolean`, value);
  return value;
}
