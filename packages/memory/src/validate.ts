import { ErrorCode, TsmallocError } from "./errors.ts";

/**
 * Describes a rejected argument for an error message: `-1`, `1.5`, `NaN`, `"12"`, `12n`, `undefined`.
 * @internal
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "bigint":
      return `${value}n (a bigint)`;
    case "number":
      return Object.is(value, -0) ? "-0" : String(value);
    case "undefined":
      return "undefined";
    case "object":
      return value === null ? "null" : `an object (${Object.prototype.toString.call(value)})`;
    default:
      return `a ${typeof value}`;
  }
}

/**
 * True when `value` is a valid size or count: a non-negative integer `number`. It may be larger
 * than any memory (such a request simply fails with 0). Never throws.
 */
export function isValidSize(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * The slow half of the size rule that every allocator shares. Hot paths test
 * `typeof size === "number" && (size >>> 0) === size` inline (true for every size below 4 GiB) and
 * call this only when that fails. It returns normally when `value` is a valid size that is simply
 * too large for any memory, so that the caller returns 0 (NULL) like C; for anything else it throws.
 *
 * @param value - what the caller was given
 * @param fn - the public function's name, for the message (`"malloc"`)
 * @param what - the parameter's name, for the message (`"size"`)
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `value` is a non-negative integer
 */
export function checkOversize(value: unknown, fn: string, what: string = "size"): void {
  if (!isValidSize(value)) {
    throw new TsmallocError(
      ErrorCode.InvalidSize,
      `${fn}: ${what} must be a non-negative integer number, got ${describeValue(value)}`,
    );
  }
}

/**
 * Validates a size argument outside hot paths.
 *
 * @returns `value`, typed as a number
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_SIZE` unless `value` is a non-negative integer
 */
export function requireSize(value: unknown, fn: string, what = "size"): number {
  checkOversize(value, fn, what);
  return value as number;
}

/**
 * True when `value` is a pointer-shaped number: an integer in [0, 2^32). It says nothing about
 * whether the address belongs to anyone. Never throws.
 */
export function isAddress(value: unknown): value is number {
  return typeof value === "number" && (value >>> 0) === value;
}

/**
 * Validates a pointer-shaped argument (an integer in [0, 2^32)).
 *
 * @returns `value`, typed as a number
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_POINTER` otherwise
 */
export function requireAddress(value: unknown, fn: string, what = "pointer"): number {
  if (!isAddress(value)) {
    throw new TsmallocError(
      ErrorCode.InvalidPointer,
      `${fn}: ${what} must be an integer address in [0, 2^32), got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * True when `value` is a power of two that fits in 32 bits (1, 2, 4, … 2^31). Never throws.
 */
export function isPowerOfTwo(value: unknown): value is number {
  return isAddress(value) && value !== 0 && (value & (value - 1)) === 0;
}

/** Formats an address as CPython prints pointers: `0x` and lower-case hex. */
export function formatAddress(address: number): string {
  return `0x${address.toString(16)}`;
}
