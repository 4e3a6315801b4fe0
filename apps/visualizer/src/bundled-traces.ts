/*
 * The traces the page offers without a file: the two the project ships (@tsmalloc/bundled-traces,
 * recorded from real programs). Vite copies them into the build's assets.
 */
import { BUNDLED_TRACES } from "@tsmalloc/bundled-traces/info";
import gccCc1WraptUrl from "@tsmalloc/bundled-traces/traces/gcc_cc1_wrapt.trace.gz?url";
import pyCompileallUrl from "@tsmalloc/bundled-traces/traces/py_compileall.trace.gz?url";
import { formatCounted } from "@tsmalloc/trace/browser";

/** A trace the page can load by name. */
export interface BundledTraceEntry {
  readonly name: string;
  readonly url: string;
  readonly description: string;
}

const URLS: Readonly<Record<string, string>> = { py_compileall: pyCompileallUrl, gcc_cc1_wrapt: gccCc1WraptUrl };

/** The bundled traces, the default first. */
export const PAGE_TRACES: readonly BundledTraceEntry[] = BUNDLED_TRACES.map(({ name, program, events }) => ({
  name,
  url: URLS[name]!,
  description: `${program}: ${formatCounted(events, "event")}`,
}));

/** The bundled trace called `name`, or undefined. */
export function bundledTrace(name: string): BundledTraceEntry | undefined {
  return PAGE_TRACES.find((entry) => entry.name === name);
}
