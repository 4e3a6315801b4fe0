/*
 * `tsmalloc visualize`: the built command serves the built visualizer until it is signalled, with
 * the right content types, and nothing outside the page's folder; bad options and busy ports are
 * one-line usage errors. The static server's path rules are checked directly too.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveFile, serveDirectory } from "../src/static-server.ts";
import { PAGE_DIR, PAGE_TRACES_FILE } from "../src/page-files.ts";
import { DEFAULT_PORT } from "../src/visualize-command.ts";
import { CLI_DIR, expectFailure, fetchRaw, MAIN_JS, PY_COMPILEALL, runCli, type ServerRun, startVisualize, TempDir } from "./helpers.ts";

const temp = new TempDir();
afterAll(() => temp.remove());

/** Starts the built `tsmalloc visualize ARGS`. */
function startServer(args: readonly string[]): Promise<ServerRun> {
  return startVisualize([process.execPath, MAIN_JS], args, CLI_DIR);
}

describe("tsmalloc visualize", () => {
  it("serves the built page and its assets until SIGTERM, then exits 0", async () => {
    const { child, url, exited } = await startServer(["--port", "0"]);
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetchRaw(url, "/");
      expect(page.status).toBe(200);
      expect(page.type).toBe("text/html; charset=utf-8");
      expect(page.body.toString()).toBe(readFileSync(join(PAGE_DIR, "index.html"), "utf8"));
      expect(page.body.toString()).toContain("<canvas id=\"map\"");

      const assets = readdirSync(join(PAGE_DIR, "assets"));
      const script = assets.find((name) => name.endsWith(".js"))!;
      const js = await fetchRaw(url, `/assets/${script}`);
      expect(js.type).toBe("text/javascript; charset=utf-8");
      // the page's bundled traces: not copied into the page's folder, served from @tsmalloc/bundled-traces
      expect(assets.filter((name) => name.endsWith(".gz"))).toEqual([]);
      const traces = Object.keys(JSON.parse(readFileSync(join(PAGE_DIR, PAGE_TRACES_FILE), "utf8")) as Record<string, string>);
      expect(traces.map((asset) => asset.replace(/-[\w-]+\.gz$/, "")).sort()).toEqual(["assets/gcc_cc1_wrapt.trace", "assets/py_compileall.trace"]);
      for (const asset of traces) expect(js.body.toString()).toContain(asset.slice("assets/".length)); // the names the page asks for
      const asset = traces.find((name) => name.includes("py_compileall"))!;
      const gz = await fetchRaw(url, `/${asset}`);
      expect(gz.status).toBe(200);
      expect(gz.type).toBe("application/gzip");
      expect(gz.body.equals(readFileSync(PY_COMPILEALL))).toBe(true); // the gzip bytes, not decoded on the way

      expect((await fetchRaw(url, "/../package.json")).status).toBe(404);
      expect((await fetchRaw(url, "/%2e%2e/package.json")).status).toBe(404);
      expect((await fetchRaw(url, "/assets/")).status).toBe(404);
      expect((await fetchRaw(url, "/missing.js")).status).toBe(404);
      expect((await fetchRaw(url, "/", "POST")).status).toBe(405);
      const head = await fetchRaw(url, "/", "HEAD");
      expect(head.status).toBe(200);
      expect(head.body.length).toBe(0);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("refuses a busy port, naming it", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = await runCli(["visualize", "--port", String(port)]);
      expect(expectFailure(run, 2)).toBe(`tsmalloc: visualize: port ${port} on 127.0.0.1 is in use; choose another with --port`);
    } finally {
      blocker.close();
    }
  });

  it.each([
    [["--port", "http"], 'tsmalloc: visualize: --port must be a whole number of at least 0, got "http" (see tsmalloc visualize --help)'],
    [["--port", "70000"], 'tsmalloc: visualize: --port must be at most 65535, got "70000" (see tsmalloc visualize --help)'],
    [["--port", "-1"], 'tsmalloc: visualize: --port must be a whole number of at least 0, got "-1" (see tsmalloc visualize --help)'],
    [["--host", ""], "tsmalloc: visualize: --host needs an address (see tsmalloc visualize --help)"],
    [["--host", "192.0.2.1", "--port", "0"], "tsmalloc: visualize: --host 192.0.2.1 is not an address of this machine"],
    [["extra"], 'tsmalloc: visualize: unexpected argument "extra" (see tsmalloc visualize --help)'],
    [["--open"], "tsmalloc: visualize: unknown option --open (see tsmalloc visualize --help)"],
  ])("refuses %j with a usage error", async (args, message) => {
    expect(expectFailure(await runCli(["visualize", ...args]), 2)).toBe(message);
  });

  it("has help that names the default port, and is listed in the main help", async () => {
    const help = (await runCli(["visualize", "--help"])).stdout;
    expect(help).toMatch(/^Usage: tsmalloc visualize \[options\]/);
    expect(help).toContain(`(default ${DEFAULT_PORT};`);
    expect((await runCli(["--help"])).stdout).toContain("  visualize          serve the visualizer page");
  });
});

describe("the static server", () => {
  it("resolves paths under its root only", () => {
    const root = temp.file("site");
    mkdirSync(join(root, "assets"), { recursive: true });
    writeFileSync(join(root, "index.html"), "<p>hi</p>");
    writeFileSync(join(root, "assets", "a b.js"), "1");
    writeFileSync(temp.file("secret.txt"), "no");
    symlinkSync(temp.file("secret.txt"), join(root, "link.txt"));
    const base = join(root);
    expect(resolveFile(base, "/")?.path).toBe(join(root, "index.html"));
    expect(resolveFile(base, "/index.html?x=1#y")?.size).toBe(9);
    expect(resolveFile(base, "/assets/a%20b.js")?.path).toBe(join(root, "assets", "a b.js"));
    expect(resolveFile(base, "/../secret.txt")).toBeNull();
    expect(resolveFile(base, "/%2e%2e/secret.txt")).toBeNull();
    expect(resolveFile(base, "/..%2fsecret.txt")).toBeNull();
    expect(resolveFile(base, "/link.txt")).toBeNull(); // a symlink out of the root
    expect(resolveFile(base, "/assets")).toBeNull(); // a directory
    expect(resolveFile(base, "/%E0%A4%A")).toBeNull(); // malformed escape
    expect(resolveFile(base, "/a%00.html")).toBeNull();
    // a path mapped elsewhere is answered from there, and only that path
    const elsewhere = new Map([["/assets/t.gz", temp.file("secret.txt")]]);
    expect(resolveFile(base, "/assets/t.gz", elsewhere)?.path).toBe(temp.file("secret.txt"));
    expect(resolveFile(base, "/assets/t.gz")).toBeNull();
    expect(resolveFile(base, "/assets/../assets/t.gz", elsewhere)?.path).toBe(temp.file("secret.txt"));
    expect(resolveFile(base, "/index.html", elsewhere)?.path).toBe(join(root, "index.html"));
  });

  it("listens on a free port when asked for port 0, and closes", async () => {
    const root = temp.file("site2");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "index.html"), "x");
    const served = await serveDirectory(root, "127.0.0.1", 0);
    const answer = await fetchRaw(served.url, "/index.html");
    expect(answer.body.toString()).toBe("x");
    await served.close();
    await expect(fetchRaw(served.url, "/")).rejects.toThrow(/ECONNREFUSED/);
  });
});
