/*
 * @tsmalloc/wasm/compile: the toolchain is there (CI installs it), options are checked, and
 * clang's failures come back as CompileError with its messages.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ErrorCode, isTsmallocError } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { wasm } from "./helpers.ts";
import { CompileError, compileC, hasWasmToolchain, TOOLCHAIN_ADVICE } from "../src/compile.ts";

const scratch = mkdtempSync(join(tmpdir(), "tsmalloc-wasm-compile-"));
const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));
const example = (name: string): string => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

describe("the toolchain", () => {
  it("is there: clang builds wasm32-wasi programs (CI installs it with scripts/ensure-wasm-toolchain.sh)", () => {
    expect(hasWasmToolchain(), TOOLCHAIN_ADVICE).toBe(true);
  });

  it("says how to get it, in one line, when the clang given cannot build for wasm32-wasi", () => {
    expect(hasWasmToolchain("/nonexistent/clang")).toBe(false);
    let thrown: unknown;
    try {
      compileC({ sources: [example("binary-trees.c")], output: join(scratch, "never.wasm"), clang: "/nonexistent/clang" });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CompileError);
    expect((thrown as CompileError).missing).toBe(true);
    expect((thrown as CompileError).message).toBe(TOOLCHAIN_ADVICE);
    expect(TOOLCHAIN_ADVICE).not.toContain("\n");
    expect(existsSync(join(scratch, "never.wasm"))).toBe(false);
  });
});

describe("compileC", () => {
  it("builds a module that imports its memory and its allocator, and exports __heap_base", async () => {
    const output = join(scratch, "binary-trees.wasm");
    compileC({ sources: [example("binary-trees.c")], output });
    const { readFileSync } = await import("node:fs");
    const module = new wasm.Module(readFileSync(output));
    const imports = wasm.Module.imports(module);
    expect(imports).toContainEqual({ module: "env", name: "memory", kind: "memory" });
    expect(imports.filter((i) => i.module === "tsmalloc").map((i) => i.name).sort()).toEqual(["calloc", "free", "malloc"]);
    expect(wasm.Module.exports(module)).toContainEqual({ name: "__heap_base", kind: "global" });
  });

  it("builds a plain WASI program with wasi-libc's malloc when shim is false", async () => {
    const output = join(scratch, "binary-trees.own.wasm");
    compileC({ sources: [example("binary-trees.c")], output, shim: false });
    const { readFileSync } = await import("node:fs");
    const module = new wasm.Module(readFileSync(output));
    expect(wasm.Module.imports(module).some((i) => i.module === "tsmalloc" || i.kind === "memory")).toBe(false);
    expect(wasm.Module.exports(module)).toContainEqual({ name: "memory", kind: "memory" });
  });

  it("throws clang's messages for a program that does not compile, and leaves no file", () => {
    const output = join(scratch, "syntax-error.wasm");
    let thrown: unknown;
    try {
      compileC({ sources: [fixture("syntax-error.c")], output });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CompileError);
    expect((thrown as CompileError).missing).toBe(false);
    expect((thrown as CompileError).stderr).toContain("undeclared_name");
    expect((thrown as CompileError).message).toContain("undeclared_name");
    expect(existsSync(output)).toBe(false);
  });

  it.each([
    ["no options", null],
    ["no sources", { sources: [], output: "x.wasm" }],
    ["a source that is not a string", { sources: [1], output: "x.wasm" }],
    ["no output", { sources: ["a.c"], output: "" }],
    ["flags that are not strings", { sources: ["a.c"], output: "x.wasm", flags: [1] }],
    ["an unknown optimisation level", { sources: ["a.c"], output: "x.wasm", optimize: "4" }],
  ])("refuses %s with ERR_TSMALLOC_INVALID_OPTION", (_, options) => {
    let thrown: unknown;
    try {
      compileC(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(isTsmallocError(thrown, ErrorCode.InvalidOption)).toBe(true);
  });
});
