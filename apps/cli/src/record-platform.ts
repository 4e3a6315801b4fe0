/*
 * Where `tsmalloc record` works: Linux with glibc, whose dynamic loader honours LD_PRELOAD and
 * whose malloc family the recorder wraps (musl's loader takes LD_PRELOAD too, but its
 * allocator's behaviour, realloc(p, 0) among it, is not what the conversion assumes).
 */

/** The running glibc's version (`"2.36"`), or null when the C library is not glibc (or not known). */
export function glibcVersion(): string | null {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: unknown } }).header;
  return typeof header?.glibcVersionRuntime === "string" ? header.glibcVersionRuntime : null;
}

/** Why `tsmalloc record` cannot run on `platform` with that glibc version, or null when it can. */
export function recordUnsupported(platform: NodeJS.Platform, glibc: string | null): string | null {
  if (platform !== "linux") return `record: needs Linux with glibc (an LD_PRELOAD recorder of the C library's malloc family); this is ${platform}`;
  if (glibc === null) return "record: needs Linux with glibc (an LD_PRELOAD recorder of glibc's malloc family); this Linux's C library is not glibc";
  return null;
}
