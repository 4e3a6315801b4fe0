import type { ApiId } from "@tsmalloc/debug";

/**
 * CPython's three allocator domains (`PyMemAllocatorDomain`):
 *
 * | domain | CPython | serves | thread rule |
 * |---|---|---|---|
 * | `Domain.RAW` | `PYMEM_DOMAIN_RAW`, `PyMem_RawMalloc` | buffers any thread may use; pymalloc's own tables and large requests | thread-safe, no lock needed |
 * | `Domain.MEM` | `PYMEM_DOMAIN_MEM`, `PyMem_Malloc` | general buffers of the owning thread | the owner's (CPython: the GIL) |
 * | `Domain.OBJ` | `PYMEM_DOMAIN_OBJ`, `PyObject_Malloc` | small objects of the owning thread | the owner's (CPython: the GIL) |
 */
export const Domain = {
  RAW: "raw",
  MEM: "mem",
  OBJ: "obj",
} as const;

/** One of the {@link Domain} strings: `"raw"`, `"mem"` or `"obj"`. */
export type Domain = (typeof Domain)[keyof typeof Domain];

/** The domains in CPython's order (the order `setupDebugHooks` wraps them in). */
export const DOMAINS: readonly Domain[] = [Domain.RAW, Domain.MEM, Domain.OBJ];

/** True when `value` is one of the {@link Domain} strings. Never throws. */
export function isDomain(value: unknown): value is Domain {
  return value === Domain.RAW || value === Domain.MEM || value === Domain.OBJ;
}

/** The API id the debug hooks of `domain` write into each block: `'r'`, `'m'` or `'o'`. */
export function apiIdOf(domain: Domain): ApiId {
  return domain === Domain.RAW ? "r" : domain === Domain.MEM ? "m" : "o";
}
