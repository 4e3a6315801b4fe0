/*
 * Running the built `tsmalloc` command (dist/main.js) as a child process, and the trace files the
 * tests give it: hand-written ones (plain or gzip) and prefixes of the bundled py_compileall trace
 * (a prefix of a valid trace is valid), all in one temporary directory per test file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync, gzipSync } from "node:zlib";
import { bundledTracePath } from "@tsmalloc/testkit";
import { expect } from "vitest";
import { CliError, ExitCode } from "../src/errors.ts";

/** The package's directory (apps/cli): the working directory of every run unless a test says otherwise. */
export const CLI_DIR: string = fileURLToPath(new URL("..", import.meta.url));

/** The built command. */
export const MAIN_JS: string = join(CLI_DIR, "dist", "main.js");

/** The broken allocator of `--verify`'s tests (every Nth malloc returns the block before again). */
export const OVERLAPPING_ALLOCATOR: string = join(CLI_DIR, "test", "fixtures", "overlapping-allocator.mjs");

/** The bundled traces. */
export const PY_COMPILEALL: string = bundledTracePath("py_compileall");
export const GCC_CC1: string = bundledTracePath("gcc_cc1_wrapt");

/** The package's version, as `--version` must print it. */
export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(join(CLI_DIR, "package.json"), "utf8")) as { version: string }).version;

/** Every allocator configuration, and what `allocatorName()` answers for it. */
export const CONFIG_NAMES: readonly (readonly [string, string])[] = [
  ["default", "pymalloc"],
  ["debug", "pymalloc_debug"],
  ["malloc", "malloc"],
  ["malloc_debug", "malloc_debug"],
  ["pymalloc", "pymalloc"],
  ["pymalloc_debug", "pymalloc_debug"],
];

/** Variables a child never inherits from the test's own environment (only a test may set them). */
const ISOLATED_ENV: readonly string[] = ["TSMALLOC", "TSMALLOCSTATS", "OVERLAP_EVERY"];

/** A run is killed after this long (the suite's own timeout is 60 s). */
const RUN_TIMEOUT_MS = 55_000;

/** What a run of the command did. */
export interface CliRun {
  /** The exit code; null when the process was killed. */
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to run the command. */
export interface CliRunOptions {
  /** Variables to set in the child, on top of the test's environment without {@link ISOLATED_ENV}. */
  readonly env?: Readonly<Record<string, string>>;
  /** The working directory (default: apps/cli). */
  readonly cwd?: string;
}

/** The child's environment: the test's own without TSMALLOC, TSMALLOCSTATS and OVERLAP_EVERY, then `extra`. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ISOLATED_ENV) delete env[name];
  return { ...env, ...extra };
}

/**
 * Runs `node dist/main.js ...args`.
 * @throws Error when dist/main.js has not been built
 */
export function runCli(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  if (!existsSync(MAIN_JS)) {
    throw new Error(`${MAIN_JS} does not exist: build the command first (at the repository root: pnpm turbo run build --filter=@tsmalloc/cli...)`);
  }
  return runProcess(process.execPath, [MAIN_JS, ...args], options);
}

/** How to run a program: {@link CliRunOptions}, and the time it may take. */
export interface ProcessRunOptions extends CliRunOptions {
  /** Milliseconds before the process is killed (default 55 s). */
  readonly timeoutMs?: number;
  /** The whole environment of the child, instead of {@link childEnv}'s. */
  readonly fullEnv?: NodeJS.ProcessEnv;
}

/** Runs `file ...args` (no shell) with the environment {@link childEnv} gives; resolves when it ends. */
export function runProcess(file: string, args: readonly string[], options: ProcessRunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? CLI_DIR,
      env: options.fullEnv ?? childEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? RUN_TIMEOUT_MS,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (status, signal) => {
      resolve({ status, signal, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
  });
}

/** The run's output, for assertion messages. */
export function describeRun(run: CliRun): string {
  return `exit ${run.status}${run.signal === null ? "" : ` (${run.signal})`}\n--- stdout\n${run.stdout.slice(0, 4000)}\n--- stderr\n${run.stderr.slice(0, 4000)}`;
}

/** Expects the run to have exited 0 with nothing on stderr; returns its stdout. */
export function expectOk(run: CliRun): string {
  expect(run.status, describeRun(run)).toBe(0);
  expect(run.stderr).toBe("");
  return run.stdout;
}

/** Expects the run to have printed its stdout as one JSON value; returns it. */
export function jsonOf<T>(run: CliRun): T {
  return JSON.parse(expectOk(run)) as T;
}

/**
 * Expects the run to have failed as the command promises: exit `status`, nothing on stdout, and
 * exactly one line on stderr that starts `tsmalloc: ` and has no stack trace.
 * @returns that line (without the newline)
 */
export function expectFailure(run: CliRun, status: number): string {
  expect(run.status, describeRun(run)).toBe(status);
  expect(run.stdout).toBe("");
  expect(run.stderr).toMatch(/^tsmalloc: [^\n]*\n$/);
  expect(run.stderr).not.toContain("    at ");
  return run.stderr.slice(0, -1);
}

/**
 * Expects every size in binary units in `text` to have three significant figures, as
 * @tsmalloc/trace's formatBytes writes them (`10.8 MiB`, `0.984 MiB`, `66.5 KiB`), never more
 * (`1007.5 KiB`, `1,031,680.0 B`); returns how many there were.
 */
export function expectTidyFigures(text: string): number {
  const figures = [...text.matchAll(/([\d.,]+) (KiB|MiB|GiB|TiB)\b/g)].map((m) => m[1]!);
  for (const figure of figures) expect(figure, `"${figure}" in\n${text}`).toMatch(/^(\d\.\d\d|\d\d\.\d|\d\d\d|0\.\d\d\d)$/);
  return figures.length;
}

/** The events of a bundled trace as text (gunzipped once). */
let bundledText: Buffer | null = null;

/** The first `events` lines of the bundled py_compileall trace, as text (with the last newline). */
export function bundledPrefix(events: number): Buffer {
  bundledText ??= gunzipSync(readFileSync(PY_COMPILEALL));
  let end = -1;
  for (let line = 0; line < events; line++) {
    end = bundledText.indexOf(0x0a, end + 1);
    if (end < 0) throw new Error(`py_compileall has fewer than ${events} events`);
  }
  return bundledText.subarray(0, end + 1);
}

/** A temporary directory of trace files (and modules), removed by {@link TempDir.remove}. */
export class TempDir {
  readonly path: string = mkdtempSync(join(tmpdir(), "tsmalloc-cli-"));

  /** The path of `name` in the directory. */
  file(name: string): string {
    return join(this.path, name);
  }

  /** Writes `content` as it is; returns the path. */
  writePlain(name: string, content: string | Uint8Array): string {
    const path = this.file(name);
    writeFileSync(path, content);
    return path;
  }

  /** Writes `content` gzip-compressed; returns the path. */
  writeGzip(name: string, content: string | Uint8Array): string {
    return this.writePlain(name, gzipSync(content));
  }

  /** Writes the first `events` events of py_compileall, gzip-compressed, as `name`; returns the path. */
  writeBundledPrefix(events: number, name: string = `py_compileall-${events}.trace.gz`): string {
    return this.writeGzip(name, bundledPrefix(events));
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Expects `fn` to throw a usage error (a CliError with exit code 2); returns its message. */
export function usageMessage(fn: () => unknown): string {
  let error: unknown = null;
  try {
    fn();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(CliError);
  expect((error as CliError).exitCode).toBe(ExitCode.Usage);
  return (error as CliError).message;
}

/** A `tsmalloc visualize` started by {@link startVisualize}. */
export interface ServerRun {
  readonly child: ChildProcess;
  /** The address it printed. */
  readonly url: string;
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `COMMAND... visualize ARGS` (the command: `[node, dist/main.js]`, or an installed
 * `tsmalloc`) in `cwd` and waits for the line with its address.
 */
export async function startVisualize(command: readonly string[], args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = childEnv()): Promise<ServerRun> {
  const child = spawn(command[0]!, [...command.slice(1), "visualize", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^tsmalloc visualizer: (http:\/\/\S+)\n/.exec(stdout);
      if (match !== null) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`visualize exited with ${code} before serving: ${stdout}${stderr}`)));
  });
  return { child, url, exited };
}

/** One raw request (the path is sent as it is, `..` included). */
export function fetchRaw(url: string, path: string, method = "GET"): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ status: response.statusCode!, type: response.headers["content-type"], body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}
