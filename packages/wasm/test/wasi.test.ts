/*
 * The two WASIs a program runs under: the minimal one of this package (for browsers) and Node's
 * node:wasi, with the same probe program (test/fixtures/wasi-probe.c); and MinimalWasi used by
 * hand, with a module's own memory.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "@tsmalloc/memory";
import { describe, expect, it } from "vitest";
import { instantiate, MinimalWasi, ProgramExit } from "../src/index.ts";
import { exampleBytes, fixtureBytes, runProgram, wasm } from "./helpers.ts";

const scratch = mkdtempSync(join(tmpdir(), "tsmalloc-wasi-"));

/** What the probe prints for exit status `status`, arguments `args`, environment and input as given. */
function probeOutput(args: readonly string[], greeting: string, stdin: string): string {
  return [
    `argc ${args.length + 1}:${args.map((a) => ` [${a}]`).join("")}`,
    `GREETING=${greeting}`,
    `stdin ${new TextEncoder().encode(stdin).length} bytes: ${stdin}`,
    "café",
    "monotonic ok, realtime after 2020: yes",
    "getentropy 0, random",
    "fopen failed",
    "",
  ].join("\n");
}

describe("the minimal WASI", () => {
  it("gives the program its arguments, environment and input, and takes its output, exit status and errors", async () => {
    let stdout = "";
    let stderr = "";
    const instance = await instantiate(fixtureBytes("wasi-probe"), {
      wasi: {
        host: "minimal",
        args: ["wasi-probe", "3", "two words", "ünïcödé"],
        env: { GREETING: "grüß dich" },
        stdin: "input ✓",
        stdout: (text) => (stdout += text),
        stderr: (text) => (stderr += text),
      },
    });
    expect(instance.wasi).toBe("minimal");
    expect(instance.start()).toBe(3);
    expect(stdout).toBe(probeOutput(["3", "two words", "ünïcödé"], "grüß dich", "input ✓"));
    expect(stderr).toBe("to stderr\n");
  });

  it("is what instantiate takes outside Node, and in Node when an output is a function", async () => {
    const run = await runProgram(fixtureBytes("wasi-probe"), { args: [] });
    expect(run.instance.wasi).toBe("minimal");
    expect(run.status).toBe(0);
    expect(run.stdout).toBe(probeOutput([], "(unset)", ""));
  });

  it("can be used by hand with a module that has its own memory and malloc", () => {
    let out = "";
    const wasi = new MinimalWasi({ args: ["bt", "6"], stdout: (text) => (out += text) });
    const module = new wasm.Module(exampleBytes("binary-trees", "dlmalloc"));
    const instance = new wasm.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
    expect(wasi.start(instance)).toBe(0);
    expect(out).toContain("long lived tree of depth 6\t check: 127\n");
    expect(() => wasi.start(instance)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidOption, message: "MinimalWasi.start: the program was started already" }));
  });

  it("answers ENOSYS for every function of preview 1 it does not implement, so any module links", () => {
    const wasi = new MinimalWasi();
    expect(Object.keys(wasi.wasiImport)).toHaveLength(46);
    expect((wasi.wasiImport["path_open"] as () => number)()).toBe(52);
    expect((wasi.wasiImport["sock_accept"] as () => number)()).toBe(52);
    expect(() => (wasi.wasiImport["proc_exit"] as (code: number) => void)(9)).toThrow(ProgramExit);
  });

  it("refuses bad options and instances", () => {
    expect(() => new MinimalWasi({ args: "prog" } as never)).toThrow("MinimalWasi: args must be an array of strings");
    expect(() => new MinimalWasi({ env: { A: 1 } } as never)).toThrow("MinimalWasi: env must be an object of strings");
    expect(() => new MinimalWasi({ stdout: 1 } as never)).toThrow("MinimalWasi: stdout must be a function");
    expect(() => new MinimalWasi({ stdin: 1 } as never)).toThrow("MinimalWasi: stdin must be a string or a Uint8Array");
    expect(() => new MinimalWasi().start({ exports: {} })).toThrow("MinimalWasi.start: the instance has no _start export");
    expect(() => new MinimalWasi().start({ exports: { _start: () => {} } })).toThrow("MinimalWasi.start: give the program's memory (it exports none)");
  });

  it("prints to the console a line at a time where there is no process", () => {
    const lines: string[] = [];
    const saved = globalThis.process;
    const savedLog = console.log;
    try {
      // as in a browser: no process, a console
      Object.defineProperty(globalThis, "process", { value: undefined, configurable: true, writable: true });
      console.log = (text: string): void => void lines.push(text);
      const wasi = new MinimalWasi({ args: ["bt", "4"] });
      const module = new wasm.Module(exampleBytes("binary-trees", "dlmalloc"));
      const instance = new wasm.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
      wasi.start(instance);
    } finally {
      Object.defineProperty(globalThis, "process", { value: saved, configurable: true, writable: true });
      console.log = savedLog;
    }
    expect(lines).toEqual(["stretch tree of depth 7\t check: 255", "64\t trees of depth 4\t check: 1984", "16\t trees of depth 6\t check: 2032", "long lived tree of depth 6\t check: 127"]);
  });
});

describe("node:wasi", () => {
  it("is what instantiate takes in Node by default, with the same program, through file descriptors", async () => {
    const stdinPath = join(scratch, "stdin.txt");
    writeFileSync(stdinPath, "input ✓");
    const stdin = openSync(stdinPath, "r");
    const stdout = openSync(join(scratch, "stdout.txt"), "w");
    const stderr = openSync(join(scratch, "stderr.txt"), "w");
    try {
      const instance = await instantiate(fixtureBytes("wasi-probe"), {
        wasi: { args: ["wasi-probe", "5", "two words"], env: { GREETING: "hello" }, stdin, stdout, stderr },
      });
      expect(instance.wasi).toBe("node");
      expect(instance.start()).toBe(5);
    } finally {
      for (const fd of [stdin, stdout, stderr]) closeSync(fd);
    }
    expect(readFileSync(join(scratch, "stdout.txt"), "utf8")).toBe(probeOutput(["5", "two words"], "hello", "input ✓"));
    expect(readFileSync(join(scratch, "stderr.txt"), "utf8")).toBe("to stderr\n");
  });

  it("lets the program open files under preopens", async () => {
    writeFileSync(join(scratch, "doc.json"), '[1, {"a": "b"}]');
    const stdout = openSync(join(scratch, "json.txt"), "w");
    try {
      const instance = await instantiate(fixtureBytes("json-file"), { wasi: { args: ["json-file", "/data/doc.json"], preopens: { "/data": scratch }, stdout } });
      expect(instance.start()).toBe(0);
    } finally {
      closeSync(stdout);
    }
    expect(readFileSync(join(scratch, "json.txt"), "utf8")).toBe("read 15 bytes: [1, {\"a\": \"b\"}]\n");
  });
});
