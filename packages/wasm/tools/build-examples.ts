/*
 * Part of `pnpm build`: compiles the C examples to dist/examples/ when clang for wasm32-wasi is
 * there. Without it the build still succeeds and says how to get it in one line (the tests, which
 * need the examples, fail with the same line; CI installs the toolchain first).
 */
import { CompileError, hasWasmToolchain, TOOLCHAIN_ADVICE } from "../src/compile.ts";
import { buildExamples } from "./examples.ts";

if (!hasWasmToolchain()) {
  process.stderr.write(`@tsmalloc/wasm: examples not built: ${TOOLCHAIN_ADVICE}\n`);
} else {
  try {
    const built = buildExamples();
    process.stdout.write(`@tsmalloc/wasm: ${built.length} example modules in dist/examples\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof CompileError ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
