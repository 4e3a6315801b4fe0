/*
 * Where a raw stack position really is. V8 reports positions in the code it runs; code that was
 * compiled (TypeScript through tsx or vitest, bundles) has them elsewhere in its sources. The
 * first time the tracer meets a position it asks, in this order:
 *
 *  1. Node's source maps (`module.findSourceMap`), which Node keeps when source maps are on
 *     (`--enable-source-maps`, `process.setSourceMapsEnabled(true)`, tsx);
 *  2. the stack formatter a tool installed as `Error.prepareStackTrace` to map positions
 *     (vitest, source-map-support): it formats a stack of that one call site, and the location
 *     is read back from the line it writes;
 *  3. nobody: the raw position stands.
 *
 * This is the cold path: its answer is remembered per raw position.
 */
import { builtinModule } from "./host.ts";

/** The parts of V8's CallSite the tracer reads. @internal */
export interface CallSite {
  getFunctionName(): string | null;
  getScriptNameOrSourceURL(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
  getPosition(): number;
  isEval(): boolean;
}

/** What `Error.prepareStackTrace` is, when it is a function. @internal */
export type StackFormatter = (error: unknown, sites: CallSite[]) => unknown;

/** A file (path or URL, as found) and a 1-based line. @internal */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
}

interface SourceMapLike {
  findOrigin?(line: number, column: number): { fileName?: string; lineNumber?: number };
  findEntry?(line: number, column: number): { originalSource?: string; originalLine?: number };
}

interface ModuleLike {
  findSourceMap?(path: string): SourceMapLike | undefined;
}

/**
 * The source position of the raw position (`file`, 1-based `line` and `column`) of `site`.
 * @param formatter the `Error.prepareStackTrace` that was installed before the tracer's own
 * @internal
 */
export function sourcePosition(site: CallSite, file: string, line: number, column: number, formatter: unknown): SourcePosition {
  return fromNodeSourceMap(file, line, column) ?? fromFormatter(site, formatter) ?? { file, line };
}

function fromNodeSourceMap(file: string, line: number, column: number): SourcePosition | undefined {
  const module = builtinModule<ModuleLike>("node:module");
  if (typeof module?.findSourceMap !== "function" || line < 1) return undefined;
  try {
    const map = module.findSourceMap(file);
    if (map === undefined) return undefined;
    if (typeof map.findOrigin === "function") {
      const origin = map.findOrigin(line, Math.max(column, 1));
      if (typeof origin.fileName === "string" && isLine(origin.lineNumber)) return { file: origin.fileName, line: origin.lineNumber };
    } else if (typeof map.findEntry === "function") {
      const entry = map.findEntry(line - 1, Math.max(column - 1, 0));
      if (typeof entry.originalSource === "string" && isLine(entry.originalLine)) return { file: entry.originalSource, line: entry.originalLine + 1 };
    }
  } catch {
    // no usable map
  }
  return undefined;
}

/** `at fn (location)` or `at location`, where location is `file:line:column`. */
const AT_LINE = /^\s*at\s+(?:.*\((.+)\)|(.+))$/;
const LOCATION = /^(.*):(\d+):(\d+)$/;

function fromFormatter(site: CallSite, formatter: unknown): SourcePosition | undefined {
  if (typeof formatter !== "function") return undefined;
  let text: unknown;
  try {
    text = (formatter as StackFormatter)({ name: "Error", message: "" }, [site]);
  } catch {
    return undefined;
  }
  if (typeof text !== "string") return undefined;
  const lines = text.split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const at = AT_LINE.exec(lines[i]!);
    if (at === null) continue;
    const location = LOCATION.exec((at[1] ?? at[2]!).trim());
    if (location === null) return undefined;
    const line = Number(location[2]);
    return isLine(line) ? { file: location[1]!, line } : undefined;
  }
  return undefined;
}

function isLine(value: unknown): value is number {
  return typeof value === "number" && (value >>> 0) === value;
}
