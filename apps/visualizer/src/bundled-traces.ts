/*
 * The traces the page offers without a file: the two the project ships (recorded from real
 * programs, see packages/testkit/traces/README.md). Vite copies them into the build's assets.
 */
import gccCc1WraptUrl from "@tsmalloc/testkit/traces/gcc_cc1_wrapt.trace.gz?url";
import pyCompileallUrl from "@tsmalloc/testkit/traces/py_compileall.trace.gz?url";

/** A trace the page can load by name. */
export interface BundledTraceEntry {
  readonly name: string;
  readonly url: string;
  readonly description: string;
}

/** The bundled traces, the default first. */
export const BUNDLED_TRACES: readonly BundledTraceEntry[] = [
  { name: "py_compileall", url: pyCompileallUrl, description: "python3 -m compileall over CPython's json, email and http packages: 995,232 events" },
  { name: "gcc_cc1_wrapt", url: gccCc1WraptUrl, description: "gcc 12's cc1 compiling a 4,000-line C file: 1,451,043 events" },
];

/** The bundled trace called `name`, or undefined. */
export function bundledTrace(name: string): BundledTraceEntry | undefined {
  return BUNDLED_TRACES.find((entry) => entry.name === name);
}
