/*
 * TSMALLOC_TRACEMALLOC in a real process, as CPython's TestCommandLine runs python with
 * PYTHONTRACEMALLOC: the package reads it when it is first imported; unset, empty and 0 leave
 * tracing off, N starts the default runtime's tracer with N frames, anything else ends the
 * process with an error naming the variable. With `node --import @tsmalloc/tracemalloc`, a
 * program that never imports the package gets tracebacks in the debug hooks' report.
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type ExampleRun, runExample } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const PRINT_TRACING = fileURLToPath(new URL("./fixtures/print-tracing.ts", import.meta.url));
const OVERFLOW = fileURLToPath(new URL("./fixtures/overflow-report.ts", import.meta.url));
const PACKAGE = fileURLToPath(new URL("..", import.meta.url));
const TIMEOUT = 60_000;

type Env = Readonly<Record<string, string | undefined>>;

/** Runs the bundled fixture with TSMALLOC_TRACEMALLOC (undefined: removed). */
function withValue(value: string | undefined): Promise<ExampleRun> {
  return runExample(PRINT_TRACING, TIMEOUT, { TSMALLOC: undefined, TSMALLOC_TRACEMALLOC: value });
}

/** Runs a TypeScript file with node, tsx and the package preloaded (`--import`), in the package's directory. */
function withImport(file: string, env: Env): Promise<ExampleRun> {
  const tsx = createRequire(import.meta.url).resolve("tsx");
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", tsx, "--conditions=@tsmalloc/source", "--import", "@tsmalloc/tracemalloc", file],
      { cwd: PACKAGE, env: childEnv, timeout: TIMEOUT },
      (error, stdout, stderr) => resolve({ stdout, stderr, exitCode: error === null ? 0 : typeof error.code === "number" ? error.code : 1 }),
    );
  });
}

describe("TSMALLOC_TRACEMALLOC", () => {
  it.each([
    [undefined, "false 1 0"],
    ["", "false 1 0"],
    ["0", "false 1 0"],
    ["1", "true 1 1"],
    ["10", "true 10 1"],
    ["65535", "true 65535 1"],
  ])("%j: the program prints %j (tracing, limit, traces)", async (value, printed) => {
    const run = await withValue(value);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe(`${printed}\n`);
  }, TIMEOUT);

  it.each(["abc", "-1", "70000", "1.5"])("%j: the process fails with the variable's error", async (value) => {
    const run = await withValue(value);
    expect(run.exitCode).not.toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("ERR_TSMALLOC_INVALID_OPTION");
    expect(run.stderr).toContain(`TSMALLOC_TRACEMALLOC: invalid number of frames ${JSON.stringify(value)}; expected an integer from 0 (off) to 65535`);
  }, TIMEOUT);
});

describe("node --import @tsmalloc/tracemalloc", () => {
  it("gives the debug hooks' report the allocation traceback of a program that never imports the package", async () => {
    const traced = await withImport(OVERFLOW, { TSMALLOC: "pymalloc_debug", TSMALLOC_TRACEMALLOC: "2" });
    expect(traced.stderr).toBe("");
    expect(traced.stdout.split("\n").slice(-7)).toEqual([
      "",
      "Memory block allocated at (most recent call first):",
      `  File "${OVERFLOW}", line 11`,
      `  File "${OVERFLOW}", line 14`,
      "",
      "Fatal tsmalloc error: debugRawFree: bad trailing pad byte",
    ].concat(""));
  }, TIMEOUT);

  it("and without TSMALLOC_TRACEMALLOC the report says to enable tracemalloc", async () => {
    const untraced = await withImport(OVERFLOW, { TSMALLOC: "pymalloc_debug", TSMALLOC_TRACEMALLOC: undefined });
    expect(untraced.stderr).toBe("");
    expect(untraced.stdout.split("\n").slice(-4)).toEqual(["Enable tracemalloc to get the memory block allocation traceback", "", "Fatal tsmalloc error: debugRawFree: bad trailing pad byte", ""]);
  }, TIMEOUT);
});
