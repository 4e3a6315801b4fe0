/*
 * The package in a real browser (Debian's Chromium through playwright-core, as the visualizer's
 * tests drive it): the sources bundled for the browser by esbuild, a page with nothing else, and
 * the C examples instantiated there. No node:wasi, no process: the minimal WASI, the default
 * configuration, output through functions or the console.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binaryTreesOutput, exampleBytes } from "./helpers.ts";

/** Debian's Chromium, or CHROMIUM_PATH; the advice of scripts/ensure-chromium.sh when there is none. */
function chromiumExecutable(): string {
  const path = process.env["CHROMIUM_PATH"] || ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((candidate) => existsSync(candidate));
  if (path === undefined || !existsSync(path)) {
    throw new Error("no Chromium for the browser test: run `bash scripts/ensure-chromium.sh` at the repository root, or `apt-get install chromium`, or set CHROMIUM_PATH");
  }
  return path;
}

/** What the page's script returns. */
interface PageRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly error: string | null;
  readonly report: string | null;
  readonly config: string | null;
  readonly wasi: string;
}

let browser: Browser;
let page: Page;
const consoleLines: string[] = [];

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL("../src/index.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "iife",
    globalName: "tsmallocWasm",
    platform: "browser",
    target: "chrome110",
    conditions: ["@tsmalloc/source"],
    logLevel: "error",
  });
  browser = await chromium.launch({ executablePath: chromiumExecutable(), args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage"] });
  page = await browser.newPage();
  page.on("console", (message) => consoleLines.push(message.text()));
  await page.setContent("<!doctype html><title>@tsmalloc/wasm</title>");
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** Runs a module in the page: bytes, instantiate's allocator and arguments; stdout captured unless `toConsole`. */
function runInPage(bytes: Uint8Array, allocator: string | null, args: readonly string[], toConsole = false): Promise<PageRun> {
  const base64 = Buffer.from(bytes).toString("base64");
  return page.evaluate(
    async ({ base64, allocator, args, toConsole }) => {
      const api = (globalThis as unknown as { tsmallocWasm: typeof import("../src/index.ts") }).tsmallocWasm;
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      let stdout = "";
      const wasi = toConsole ? { args: ["program", ...args] } : { args: ["program", ...args], stdout: (text: string): void => void (stdout += text) };
      const instance = await api.instantiate(bytes, allocator === null ? { wasi } : { allocator, wasi });
      let status: number | null = null;
      let error: string | null = null;
      let report: string | null = null;
      try {
        status = instance.start();
      } catch (thrown) {
        error = (thrown as Error).message;
        report = (thrown as { report?: string }).report ?? null;
      }
      return { status, stdout, error, report, config: instance.runtime.allocatorName(), wasi: String(instance.wasi) };
    },
    { base64, allocator, args, toConsole },
  );
}

describe("in Chromium", () => {
  it("runs binary-trees on the minimal WASI, in the default configuration (no TSMALLOC in a browser)", async () => {
    const run = await runInPage(exampleBytes("binary-trees"), null, ["8"]);
    expect(run).toEqual({ status: 0, stdout: binaryTreesOutput(8), error: null, report: null, config: "pymalloc", wasi: "minimal" });
  });

  it("prints to the console a line at a time when no output function is given", async () => {
    consoleLines.length = 0;
    const run = await runInPage(exampleBytes("binary-trees"), "malloc", ["6"], true);
    expect(run.status).toBe(0);
    expect(consoleLines).toEqual(binaryTreesOutput(6).trimEnd().split("\n"));
  });

  it("parses JSON and catches the heap overflow with CPython's report, as in Node", async () => {
    const json = await runInPage(exampleBytes("json-tree"), "pymalloc_debug", ["100"]);
    expect(json.status).toBe(0);
    expect(json.stdout).toContain("values: 1201 (objects 200, arrays 101, strings 400, numbers 300), depth 4\n");
    const bug = await runInPage(exampleBytes("heap-bugs"), "pymalloc_debug", ["overflow"]);
    expect(bug.stdout).toBe('copied "tsmalloc!!" into a 10-byte block\n');
    expect(bug.error).toBe("debugRawFree: bad trailing pad byte");
    expect(bug.report).toContain("        at tail+0: 0x00 *** OUCH\n");
  });
});
