import { checkOversize, requireAddress } from "@tsmalloc/memory";

/**
 * The largest request the domain entry points pass on: CPython's `PY_SSIZE_T_MAX` on wasm32,
 * 2³¹ − 1. `rawMalloc(n)` and friends return 0 (NULL) for a larger size without calling the
 * allocator, as `PyMem_RawMalloc` does.
 */
export const MAX_REQUEST_SIZE = 0x7fff_ffff;

/**
 * The cold path of an entry point whose size is over {@link MAX_REQUEST_SIZE} (or not a number
 * the comparison can order): throws for an invalid size, else returns 0.
 * @internal
 */
export function refuseSize(size: unknown, fn: string): 0 {
  checkOversize(size, fn);
  return 0;
}

/**
 * The cold path of a realloc whose size is over {@link MAX_REQUEST_SIZE}: the pointer must still
 * be an address; the block is left as it is.
 * @internal
 */
export function refuseRealloc(ptr: unknown, size: unknown, fn: string): 0 {
  requireAddress(ptr, fn);
  return refuseSize(size, fn);
}

/**
 * The cold path of a calloc whose product is over {@link MAX_REQUEST_SIZE} (CPython:
 * `elsize != 0 && nelem > PY_SSIZE_T_MAX / elsize`): throws for an invalid count, else returns 0.
 * @internal
 */
export function refuseCalloc(nelem: unknown, elsize: unknown, fn: string): 0 {
  checkOversize(nelem, fn, "nelem");
  checkOversize(elsize, fn, "elsize");
  return 0;
}
