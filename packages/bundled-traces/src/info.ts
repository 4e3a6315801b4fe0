/*
 * What the bundled traces are, without reaching the files: safe in a browser (the visualizer
 * lists them; its bundler takes the files themselves from `@tsmalloc/bundled-traces/traces/*`).
 */

/** The name of a trace this package holds. */
export type BundledTrace = "py_compileall" | "gcc_cc1_wrapt";

/** What each bundled trace is: its name, the program it was recorded from, its number of events. */
export interface BundledTraceInfo {
  readonly name: BundledTrace;
  /** The program whose calls it holds, in a few words. */
  readonly program: string;
  /** Its number of events (lines). */
  readonly events: number;
}

/** The bundled traces, the one pymalloc is made for first. */
export const BUNDLED_TRACES: readonly BundledTraceInfo[] = [
  { name: "py_compileall", program: "python3 -m compileall over CPython's json, email and http packages (PYTHONMALLOC=malloc)", events: 995_232 },
  { name: "gcc_cc1_wrapt", program: "gcc 12's cc1 compiling a 4,000-line C file", events: 1_451_043 },
];

/** True when `name` is the name of a bundled trace. Never throws. */
export function isBundledTrace(name: unknown): name is BundledTrace {
  return BUNDLED_TRACES.some((trace) => trace.name === name);
}
