/*
 * The outputs the README shows are what the command prints: each block marked `<!-- output -->`
 * starts with `$ tsmalloc ARGS` (run from the repository root) and holds the output, stdout and
 * stderr together. Times differ from run to run, so a `time` line is matched by its shape only.
 * The `tsmalloc record` block (`<!-- record output -->`) is compared by the shape of its lines
 * (figures, paths and pids differ), and the root README's first screen is run as it stands.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { parseTrace } from "@tsmalloc/trace/browser";
import { afterAll, describe, expect, it } from "vitest";
import { describeRun, fetchRaw, jsonOf, MAIN_JS, runCli, startVisualize, TempDir } from "./helpers.ts";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const root = fileURLToPath(new URL("../../../", import.meta.url));

interface ShownRun {
  readonly command: string;
  readonly output: string;
}

const shown: ShownRun[] = [...readme.matchAll(/<!-- output -->\n```\n\$ tsmalloc (.*)\n([\s\S]*?)```/g)].map((m) => ({ command: m[1]!, output: m[2]! }));
const TIME_LINE = /^ {2}time {15}[\d.]+ ns\/event \([\d.]+ ms; .*\)$/;

describe("README", () => {
  it("shows outputs to check", () => {
    expect(shown.length).toBe(5);
  });

  it.each(shown)("$ tsmalloc $command prints what the README shows", async ({ command, output }) => {
    const run = await runCli(command.split(" "), { cwd: root });
    const actual = `${run.stdout}${run.stderr}`.split("\n");
    const expected = output.split("\n");
    expect(actual.length).toBe(expected.length);
    expected.forEach((line, i) => {
      if (line.startsWith("  time ")) expect(actual[i]).toMatch(TIME_LINE);
      // a wasm frame: V8's hash of the module's bytes and the call's offset follow the toolchain
      else if (WASM_FRAME.test(line)) expect(actual[i]!.replace(WASM_FRAME, "$1#$2#")).toBe(line.replace(WASM_FRAME, "$1#$2#"));
      else expect(actual[i]).toBe(line);
    });
  });
});

/** `  File "wasm://wasm/<hash>:<function>", line <offset>`: the hash and the offset vary with the build. */
const WASM_FRAME = /^( {2}File "wasm:\/\/wasm\/)[0-9a-f]+(:\w+", line )\d+$/;

/** A figure, a path or a pid in a line: what differs from run to run and machine to machine. */
const VARYING = /\/\S+|[\d][\d,.]*( (ms|s|MiB|KiB|B)\b)?/g;

/** The line with its figures and paths replaced, for comparing shapes. */
function shape(line: string): string {
  return line.replace(VARYING, "#");
}

/** The lines of the summary that depend on how python3 is installed (pyenv's shims exec it). */
const INSTALLATION = /^ {2}(before it|forks) /;

describe("README: recording a program", () => {
  const app = /```python\n([\s\S]*?)```/.exec(readme)![1]!;
  const [, command, sample] = /<!-- record output -->\n```\n\$ tsmalloc (.*)\n([\s\S]*?)```/.exec(readme)!;
  const temp = new TempDir();
  afterAll(() => temp.remove());

  it("shows what tsmalloc record prints for its app.py, line for line but the figures, and a trace that replays", async () => {
    writeFileSync(temp.file("app.py"), app);
    const run = await runCli(command!.split(" "), { cwd: temp.path, env: { XDG_CACHE_HOME: temp.file("cache") } });
    expect(run.status, describeRun(run)).toBe(0);
    const printed = `${run.stderr.split("\n").filter((line) => !line.startsWith("tsmalloc record: built the recorder")).join("\n")}`.split("\n");
    const shown = sample!.split("\n");
    // the program's own output is on stdout, the rest on stderr, in this order on a terminal
    expect(run.stdout).toBe(`${shown[1]}\n`);
    const expected = [shown[0]!, ...shown.slice(2)].filter((line) => !INSTALLATION.test(line));
    expect(printed.filter((line) => !INSTALLATION.test(line)).map(shape)).toEqual(expected.map(shape));
    expect(jsonOf<{ verified: boolean }>(await runCli(["replay", temp.file("my.trace.gz"), "--verify", "--json"])).verified).toBe(true);
  });
});

describe("the root README's first screen: record, replay, see it in the page", () => {
  const rootReadme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const section = rootReadme.slice(rootReadme.indexOf("## Your program's allocations"));
  const commands = /```sh\n([\s\S]*?)```/
    .exec(section)![1]!
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, ""))
    .filter((line) => line.startsWith("tsmalloc "));
  const temp = new TempDir();
  afterAll(() => temp.remove());

  it("shows the loop", () => {
    expect(commands).toEqual(["tsmalloc record -o my.trace.gz -- python3 app.py", "tsmalloc replay my.trace.gz --verify --stats", "tsmalloc visualize"]);
  });

  it("runs as shown: the trace is recorded, replays with every block checked, and the page is served and reads it", async () => {
    writeFileSync(temp.file("app.py"), /```python\n([\s\S]*?)```/.exec(readme)![1]!);
    const env = { XDG_CACHE_HOME: temp.file("cache") };
    const recorded = await runCli(commands[0]!.split(" ").slice(1), { cwd: temp.path, env });
    expect(recorded.status, describeRun(recorded)).toBe(0);
    const replayed = await runCli(commands[1]!.split(" ").slice(1), { cwd: temp.path });
    expect(replayed.status, describeRun(replayed)).toBe(0);
    expect(replayed.stdout).toMatch(/^my: [\d,]+ events replayed through MEM under "default"/);
    expect(replayed.stdout).toContain("\n  verified           yes:");
    expect(replayed.stdout).toContain("\nstatistics at the end of the trace:\n\nSmall block threshold = 512");
    // the page: served (on any free port here, not 4178), and its reader (the browser entry) takes the file
    const server = await startVisualize([process.execPath, MAIN_JS], [...commands[2]!.split(" ").slice(2), "--port", "0"], temp.path);
    try {
      expect((await fetchRaw(server.url, "/")).status).toBe(200);
    } finally {
      server.child.kill("SIGTERM");
    }
    expect(await server.exited).toBe(0);
    const trace = parseTrace(gunzipSync(readFileSync(temp.file("my.trace.gz"))), "my");
    expect(trace.length).toBe(Number(/^my: ([\d,]+) events/.exec(replayed.stdout)![1]!.replaceAll(",", "")));
  });
});
