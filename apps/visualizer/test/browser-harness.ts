/*
 * The browser tests' setup: the page built by Vite into a temporary folder (so the tests always
 * see the current sources), served by `vite preview` on a free loopback port, and Debian's
 * Chromium driven by playwright-core (which downloads no browser of its own).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { build, preview } from "vite";

/** The visualizer package's folder. */
export const APP_ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Where the tests leave their screenshots (gitignored; CI keeps it as an artifact). */
export const RESULTS_DIR: string = join(APP_ROOT, "test-results");

/**
 * Chromium's switches for a machine with no network and no display: headless, no sandbox (tests
 * may run as root), and none of the background connections a closed network refuses.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/**
 * The Chromium to drive: `CHROMIUM_PATH`, else Debian's.
 * @throws Error saying how to install it when there is none
 */
export function chromiumPath(): string {
  const chosen = process.env["CHROMIUM_PATH"];
  if (chosen !== undefined && chosen !== "") {
    if (!existsSync(chosen)) throw new Error(`CHROMIUM_PATH=${chosen}: no such file`);
    return chosen;
  }
  const found = CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) {
    throw new Error(
      "no Chromium found for the browser tests: install Debian's package (`bash scripts/ensure-chromium.sh` from the repository root, or `apt-get install chromium`), or set CHROMIUM_PATH",
    );
  }
  return found;
}

/** The built page on a local server, and a browser to look at it with. */
export interface BrowserRig {
  /** The page's address, ending in `/`. */
  readonly url: string;
  readonly browser: Browser;
  /**
   * A new page of 1500 × 1000 CSS pixels (or `width` × `height`, `deviceScaleFactor` device
   * pixels to a CSS pixel), its script errors collected for {@link scriptErrors}.
   */
  newPage(options?: PageSize): Promise<Page>;
  close(): Promise<void>;
}

/** The window a test page gets. */
export interface PageSize {
  readonly width?: number;
  readonly height?: number;
  readonly deviceScaleFactor?: number;
}

/** Builds the page, serves it and starts Chromium. */
export async function startRig(): Promise<BrowserRig> {
  const executablePath = chromiumPath();
  const outDir = mkdtempSync(join(tmpdir(), "tsmalloc-visualizer-"));
  await build({ root: APP_ROOT, configFile: join(APP_ROOT, "vite.config.ts"), logLevel: "warn", build: { outDir, emptyOutDir: true } });
  const server = await preview({
    root: APP_ROOT,
    configFile: join(APP_ROOT, "vite.config.ts"),
    logLevel: "silent",
    build: { outDir },
    preview: { host: "127.0.0.1", port: 0, strictPort: false, open: false },
  });
  const url = server.resolvedUrls?.local[0];
  if (url === undefined) throw new Error("vite preview did not say where it listens");
  const browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS] });
  mkdirSync(RESULTS_DIR, { recursive: true });
  return {
    url,
    browser,
    async newPage(size: PageSize = {}): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: size.width ?? 1500, height: size.height ?? 1000 }, deviceScaleFactor: size.deviceScaleFactor ?? 1 });
      const errors: string[] = [];
      pageErrors.set(page, errors);
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      return page;
    },
    async close(): Promise<void> {
      await browser.close();
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

const pageErrors = new WeakMap<Page, string[]>();

/** The script errors and console errors a page of the rig has had so far. */
export function scriptErrors(page: Page): readonly string[] {
  return pageErrors.get(page) ?? [];
}

/** Waits until the page has nothing left to do (`<body data-busy="false">`). */
export async function idle(page: Page): Promise<void> {
  await page.waitForSelector("body[data-busy=false]", { timeout: 30_000 });
}

/** Sets the scrub bar to `events`, as a user dragging it would (an `input` event). */
export async function scrubTo(page: Page, events: number): Promise<void> {
  await page.$eval(
    "#scrub",
    (element, value) => {
      const input = element as HTMLInputElement;
      input.value = String(value);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    },
    events,
  );
  await idle(page);
}

/**
 * The page at `url` as Chromium's own headless mode leaves it after `budgetMs` of virtual time
 * (`--dump-dom --virtual-time-budget`): virtual time stands still while a script runs, so the page's
 * 8 ms of work per frame never runs out and a whole seek happens in one frame, whatever the
 * machine's load. This is how the page was seen to lose an arena given back within one frame.
 * @returns the serialised DOM
 */
export function dumpDom(url: string, budgetMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      chromiumPath(),
      ["--headless", ...CHROMIUM_ARGS, "--dump-dom", `--virtual-time-budget=${budgetMs}`, url],
      { maxBuffer: 64 << 20, timeout: 120_000 },
      (error, stdout) => (error === null ? resolve(stdout) : reject(error)),
    );
  });
}

/** The text of the element `[data-testid=id]` in serialised HTML (as {@link dumpDom} gives it), entities decoded. */
export function testIdText(html: string, id: string): string {
  const found = new RegExp(`<[a-z]+ [^>]*data-testid="${id}"[^>]*>([^<]*)<`).exec(html);
  if (found === null) throw new Error(`no [data-testid=${id}] in the page`);
  return found[1]!.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&amp;", "&");
}

/** The text of `[data-testid=id]`. */
export async function textOf(page: Page, id: string): Promise<string> {
  return (await page.locator(`[data-testid=${id}]`).textContent()) ?? "";
}
