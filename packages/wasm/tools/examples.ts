/*
 * The C examples of the package, built into dist/examples/ by `pnpm build` (when clang for
 * wasm32-wasi is there) and, when missing or older than their sources, by the tests and the
 * benchmark that use them. Each example is built twice where the benchmark needs it: on
 * tsmalloc's heap (`<name>.wasm`, with c/tsmalloc-shim.c) and with wasi-libc's own dlmalloc
 * inside the module (`<name>.dlmalloc.wasm`).
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { compileC, SHIM_SOURCE } from "../src/compile.ts";

/** The examples, by name (examples/<name>.c). */
export const EXAMPLES = ["binary-trees", "json-tree", "heap-bugs"] as const;
export type ExampleName = (typeof EXAMPLES)[number];

/** The examples the benchmark runs with the module's own malloc too. */
export const BENCHMARKED: readonly ExampleName[] = ["binary-trees", "json-tree"];

/** `tsmalloc`: the module imports its malloc family; `dlmalloc`: wasi-libc's own, inside the module. */
export type ExampleVariant = "tsmalloc" | "dlmalloc";

const PACKAGE = new URL("../", import.meta.url);
const OUT = fileURLToPath(new URL("dist/examples/", PACKAGE));
const HEADER = fileURLToPath(new URL("c/tsmalloc.h", PACKAGE));

/** examples/<name>.c */
export function exampleSource(name: ExampleName): string {
  return fileURLToPath(new URL(`examples/${name}.c`, PACKAGE));
}

/** Where the built example goes. */
export function examplePath(name: ExampleName, variant: ExampleVariant = "tsmalloc"): string {
  return `${OUT}${name}${variant === "dlmalloc" ? ".dlmalloc" : ""}.wasm`;
}

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : -1;
}

/**
 * `output`, built from `source` first when it is missing or older than its inputs (the source,
 * and the shim and header when it links the shim).
 * @throws CompileError (with the one-line advice) when there is no clang for wasm32-wasi
 */
export function ensureBuilt(source: string, output: string, shim: boolean, flags: readonly string[] = []): string {
  const inputs = shim ? [source, SHIM_SOURCE, HEADER] : [source];
  const built = mtime(output);
  if (built < 0 || inputs.some((input) => mtime(input) > built)) {
    mkdirSync(dirname(output), { recursive: true });
    compileC({ sources: [source], output, shim, flags });
  }
  return output;
}

/** The built example (see {@link ensureBuilt}). */
export function exampleModule(name: ExampleName, variant: ExampleVariant = "tsmalloc"): string {
  return ensureBuilt(exampleSource(name), examplePath(name, variant), variant === "tsmalloc");
}

/** Every example in every variant it has; returns the paths. */
export function buildExamples(): string[] {
  const built: string[] = [];
  for (const name of EXAMPLES) {
    built.push(exampleModule(name));
    if (BENCHMARKED.includes(name)) built.push(exampleModule(name, "dlmalloc"));
  }
  return built;
}
