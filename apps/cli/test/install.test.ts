/*
 * `tsmalloc` from npm: the publishable packages are packed with `pnpm pack` (as `pnpm publish`
 * would pack them: workspace: and catalog: ranges rewritten), the tarballs are installed with
 * `npm install` into a scratch folder outside the repository (the third-party dependencies come
 * from the npm registry), and the installed command runs there: demo, replay --verify of a bundled
 * trace, stats, record of a native program (its recorder built from the shipped C source), and
 * visualize answering requests. Nothing of the
 * repository is reachable from the scratch folder, so a file the packages forgot to ship, or a
 * dependency on a private package, fails here.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliRun, describeRun, fetchRaw, runProcess, startVisualize } from "./helpers.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** A workspace package: its folder and its package.json. */
interface WorkspacePackage {
  readonly dir: string;
  readonly manifest: PackageManifest;
}

interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly license?: string;
  readonly engines?: Record<string, string>;
  readonly files?: string[];
  readonly bin?: Record<string, string>;
  readonly exports?: Record<string, unknown>;
  readonly dependencies?: Record<string, string>;
}

function workspacePackages(): WorkspacePackage[] {
  return ["packages", "apps"].flatMap((group) =>
    readdirSync(join(ROOT, group)).map((name) => {
      const dir = join(ROOT, group, name);
      return { dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageManifest };
    }),
  );
}

const packages = workspacePackages();
const publishable = packages.filter((p) => p.manifest.private !== true);
const byName = new Map(packages.map((p) => [p.manifest.name, p]));

/** Every path an `exports` map (or a `bin`) points at. */
function targetsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (value === null || typeof value !== "object") return [];
  return Object.values(value).flatMap(targetsOf);
}

/**
 * The environment of npm and of the installed command: the test's own, without what pnpm and
 * vitest set for the workspace (npm_config_*, the workspace's node_modules/.bin on PATH, NODE_OPTIONS).
 */
function outsideEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|VITEST|NODE_OPTIONS$|TSMALLOC|INIT_CWD$)/i.test(name)) continue;
    env[name] = value;
  }
  env["PATH"] = (process.env["PATH"] ?? "")
    .split(":")
    .filter((dir) => !dir.startsWith(ROOT))
    .join(":");
  return env;
}

describe("the publishable packages", () => {
  it("are every package the command needs at run time, none of them private", () => {
    const needed = new Set<string>();
    const visit = (name: string): void => {
      const found = byName.get(name);
      if (found === undefined || needed.has(name)) return; // a third-party package
      needed.add(name);
      expect(found.manifest.private, `${name} is needed by tsmalloc at run time`).not.toBe(true);
      for (const dependency of Object.keys(found.manifest.dependencies ?? {})) visit(dependency);
    };
    visit("@tsmalloc/cli");
    expect([...needed].sort()).toEqual(
      ["@tsmalloc/bundled-traces", "@tsmalloc/cli", "@tsmalloc/debug", "@tsmalloc/malloc", "@tsmalloc/memory", "@tsmalloc/pymalloc", "@tsmalloc/registry", "@tsmalloc/trace", "@tsmalloc/tracemalloc", "@tsmalloc/wasm"],
    );
  });

  it.each(publishable.map((p) => [p.manifest.name, p] as const))("%s states its license, engines and files", (_name, { manifest }) => {
    expect(manifest.license).toBe("MIT");
    expect(manifest.engines?.["node"]).toBe(">=20.19");
    expect(manifest.files?.length).toBeGreaterThan(0);
    expect(manifest.exports !== undefined || manifest.bin !== undefined).toBe(true);
  });
});

describe("tsmalloc installed with npm from the packed tarballs", () => {
  const scratch = mkdtempSync(join(tmpdir(), "tsmalloc-install-"));
  const tarballs = join(scratch, "tarballs");
  const project = join(scratch, "project");
  const env = outsideEnv();
  const tsmalloc = join(project, "node_modules", ".bin", "tsmalloc");
  const installed = (name: string): string => join(project, "node_modules", ...name.split("/"));

  beforeAll(async () => {
    expect(relative(ROOT, scratch).startsWith("..")).toBe(true);
    // `pnpm pack` of every publishable package, two at a time
    const queue = [...publishable];
    const pack = async (): Promise<void> => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        const run = await runProcess("pnpm", ["pack", "--pack-destination", tarballs], { cwd: next.dir, timeoutMs: 120_000 });
        expect(run.status, describeRun(run)).toBe(0);
      }
    };
    await Promise.all([pack(), pack()]);
    const files = readdirSync(tarballs).filter((name) => name.endsWith(".tgz"));
    expect(files.length).toBe(publishable.length);
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "scratch", private: true })}\n`);
    await runOk("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...files.map((name) => join(tarballs, name))], project, 180_000);
  }, 300_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  async function runOk(file: string, args: readonly string[], cwd: string, timeoutMs = 120_000): Promise<CliRun> {
    const run = await runProcess(file, args, { cwd, fullEnv: env, timeoutMs });
    expect(run.status, describeRun(run)).toBe(0);
    return run;
  }

  it("installed every package with its files, and nothing of the workspace", () => {
    for (const { manifest } of publishable) {
      const dir = installed(manifest.name);
      const packed = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageManifest;
      expect(JSON.stringify(packed)).not.toMatch(/"(workspace|catalog):/);
      // every entry point, the @tsmalloc/source condition's src/*.ts included, is in the package
      for (const target of [...targetsOf(packed.exports), ...targetsOf(packed.bin)]) {
        if (target.includes("*")) continue;
        expect(existsSync(join(dir, target)), `${manifest.name}: ${target}`).toBe(true);
      }
      expect(existsSync(join(dir, "README.md")), `${manifest.name}: README.md`).toBe(true);
      expect(existsSync(join(dir, "LICENSE")), `${manifest.name}: LICENSE`).toBe(true);
    }
    const page = join(installed("@tsmalloc/cli"), "dist", "visualizer");
    expect(existsSync(join(page, "index.html"))).toBe(true);
    expect(readdirSync(join(page, "assets")).filter((name) => name.endsWith(".gz"))).toEqual([]);
    expect(existsSync(join(project, "node_modules", "@tsmalloc", "visualizer"))).toBe(false);
    expect(existsSync(join(project, "node_modules", "@tsmalloc", "testkit"))).toBe(false);
  });

  it("runs tsmalloc --version and tsmalloc demo", async () => {
    expect((await runOk(tsmalloc, ["--version"], project)).stdout).toBe(`${byName.get("@tsmalloc/cli")!.manifest.version}\n`);
    const demo = await runOk(tsmalloc, ["demo"], project, 240_000);
    expect(demo.stdout).toMatch(/^tsmalloc demo: CPython's allocators on a real program's allocations\n/);
    expect(demo.stdout).toContain("py_compileall: 995,232 events replayed through MEM under \"default\"");
    expect(demo.stdout).toMatch(/\nCompared with malloc on the same trace/);
  }, 300_000);

  it("runs tsmalloc replay of the bundled py_compileall with --verify, and tsmalloc stats", async () => {
    const trace = join(installed("@tsmalloc/bundled-traces"), "traces", "py_compileall.trace.gz");
    const replay = await runOk(tsmalloc, ["replay", trace, "--verify"], project);
    expect(replay.stdout).toMatch(/^py_compileall: 995,232 events replayed through MEM/);
    expect(replay.stdout).toContain("\n  verified           yes:");
    const stats = await runOk(tsmalloc, ["stats"], project);
    expect(stats.stdout).toMatch(/^Small block threshold = 512, in 32 size classes\.\n/);
  }, 180_000);

  it("runs tsmalloc record, its recorder built from the C source the package ships, and replays the trace", async () => {
    const run = await runProcess(tsmalloc, ["record", "-o", "sh.trace.gz", "--", "sh", "-c", "echo recorded"], { cwd: project, fullEnv: { ...env, XDG_CACHE_HOME: join(scratch, "cache") } });
    expect(run.status, describeRun(run)).toBe(0);
    expect(run.stdout).toBe("recorded\n");
    expect(run.stderr).toContain(`built the recorder with cc into ${join(scratch, "cache", "tsmalloc")}/record-`);
    expect(run.stderr).toMatch(/\n  trace +sh\.trace\.gz: [\d,]+ events of /);
    const replay = await runOk(tsmalloc, ["replay", "sh.trace.gz", "--verify"], project);
    expect(replay.stdout).toContain("\n  verified           yes:");
  });

  it("runs tsmalloc visualize, which answers for the page and its bundled traces, then stops", async () => {
    const server = await startVisualize([tsmalloc], ["--port", "0"], project, env);
    try {
      const page = await fetchRaw(server.url, "/");
      expect(page.status).toBe(200);
      expect(page.body.toString()).toContain('<canvas id="map"');
      const traces = JSON.parse(readFileSync(join(installed("@tsmalloc/cli"), "dist", "visualizer", "bundled-traces.json"), "utf8")) as Record<string, string>;
      const [asset, name] = Object.entries(traces).find(([, trace]) => trace === "gcc_cc1_wrapt")!;
      const gz = await fetchRaw(server.url, `/${asset}`);
      expect(gz.status).toBe(200);
      expect(gz.body.equals(readFileSync(join(installed("@tsmalloc/bundled-traces"), "traces", `${name}.trace.gz`)))).toBe(true);
    } finally {
      server.child.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
  });
});
