import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import {
  bundledTraceMeta,
  bundledTracePath,
  isGzip,
  loadTrace,
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  parseTrace,
  TraceFormatError,
  traceName,
} from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("parseTrace", () => {
  it("reads every event kind into typed arrays", () => {
    const trace = parseTrace(text("a 0 16\nc 1 4 8\nr 0 2 100\nm 3 64 10\nf 1\nf 2\n"), "t");
    expect(trace.length).toBe(6);
    expect(trace.ids).toBe(4);
    expect([...trace.op]).toEqual([OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_MEMALIGN, OP_FREE, OP_FREE]);
    expect([...trace.id]).toEqual([0, 1, 2, 3, 1, 2]);
    expect([...trace.arg]).toEqual([0, 4, 0, 64, 0, 0]);
    expect([...trace.size]).toEqual([16, 8, 100, 10, 0, 0]);
  });

  it("accepts a last line without a newline, CRLF line ends and zero sizes", () => {
    const trace = parseTrace(text("a 0 0\r\nf 0"), "t");
    expect(trace.length).toBe(2);
    expect(trace.size[0]).toBe(0);
  });

  it("keeps only the first `limit` events", () => {
    const trace = parseTrace(text("a 0 1\na 1 2\na 2 3\n"), "t", 2);
    expect(trace.length).toBe(2);
    expect(trace.op.length).toBe(2);
  });

  it.each([
    ["x 0 1\n", 1, "unknown event"],
    ["a 0\n", 1, "expected one space"],
    ["a 0 1 2\n", 1, "unexpected text"],
    ["a 0 1\n\n", 2, "empty line"],
    ["a 0 -1\n", 1, "expected a decimal number"],
    ["a  0 1\n", 1, "expected a decimal number"],
    ["a 0 1\nf 1\n", 2, "block id 1 is not live"],
    ["a 0 1\na 0 2\n", 2, "block id 0 is already live"],
    ["a 0 1\nf 0\nf 0\n", 3, "block id 0 is not live"],
    ["a 0 1\nr 5 1 3\n", 2, "block id 5 is not live"],
    ["c 0 99999999999 1\n", 1, "does not fit in 32 bits"],
    ["a0 1\n", 1, "expected an event letter and a space"],
  ])("rejects %j at line %i (%s)", (input, line, why) => {
    let error: unknown;
    try {
      parseTrace(text(input), "bad");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TraceFormatError);
    expect((error as TraceFormatError).line).toBe(line);
    expect((error as TraceFormatError).message).toContain(why);
    expect((error as TraceFormatError).message).toMatch(new RegExp(`^bad:${line}: `));
  });
});

describe("loadTrace", () => {
  it("reads gzip-compressed and plain files", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsmalloc-trace-"));
    writeFileSync(join(dir, "x.trace.gz"), gzipSync("a 0 5\nf 0\n"));
    writeFileSync(join(dir, "y.trace"), "a 0 5\n");
    expect(loadTrace(join(dir, "x.trace.gz")).length).toBe(2);
    expect(loadTrace(join(dir, "x.trace.gz")).name).toBe("x");
    expect(loadTrace(join(dir, "y.trace")).length).toBe(1);
  });

  it("agrees with the statistics recorded beside each bundled trace", () => {
    for (const name of ["gcc_cc1_wrapt", "py_compileall"] as const) {
      const meta = bundledTraceMeta(name);
      const trace = loadTrace(bundledTracePath(name));
      expect(trace.length).toBe(meta.events);
      expect(trace.ids).toBe(meta.ids);
      const counts = [0, 0, 0, 0, 0];
      for (let i = 0; i < trace.length; i++) counts[trace.op[i]!]!++;
      expect(counts).toEqual([meta.count.a, meta.count.c, meta.count.r, meta.count.f, meta.count.m]);
    }
  }, 30_000);
});

describe("isGzip", () => {
  it("is true exactly when the bytes start with 1f 8b", () => {
    expect(isGzip(gzipSync("a 0 1\n"))).toBe(true);
    expect(isGzip(new Uint8Array([0x1f, 0x8b]))).toBe(true);
    expect(isGzip(text("a 0 1\n"))).toBe(false);
    expect(isGzip(new Uint8Array([0x8b, 0x1f, 0x08]))).toBe(false);
    expect(isGzip(new Uint8Array([0x1f, 0x8c]))).toBe(false);
    expect(isGzip(new Uint8Array([0x1f]))).toBe(false);
    expect(isGzip(new Uint8Array(0))).toBe(false);
  });
});

describe("traceName", () => {
  it.each([
    ["x.trace.gz", "x"],
    ["x.trace", "x"],
    ["x.gz", "x"],
    ["dir/y.txt", "y.txt"],
    ["/some/dir/py_compileall.trace.gz", "py_compileall"],
    ["a.b.trace", "a.b"],
    ["plain", "plain"],
    ["C:\\traces\\gcc.trace.gz", "gcc"],
    ["C:\\traces/mixed\\x.trace", "x"],
  ])("names %j %j", (path, name) => {
    expect(traceName(path)).toBe(name);
  });

  it("is the name loadTrace gives the trace", () => {
    expect(loadTrace(bundledTracePath("py_compileall"), 1).name).toBe("py_compileall");
  });
});

describe("@tsmalloc/testkit/trace", () => {
  // The visualizer bundles this entry for the browser: nothing it reaches may import a Node API.
  it("reaches no Node module, however deep", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/^(?:import|export)\b[^;]*?from "([^"]+)";/gms)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^node:|^(fs|path|url|zlib|stream|worker_threads)$/);
        if (spec!.startsWith(".")) visit(join(dirname(file), spec!));
      }
    };
    visit(fileURLToPath(new URL("../src/trace-entry.ts", import.meta.url)));
    expect([...seen].map((f) => f.replace(/.*\/src\//, "")).sort()).toEqual(["profile.ts", "replay.ts", "trace-entry.ts", "trace.ts"]);
  });

  it("exports what the main entry exports under the same names", async () => {
    const browser = await import("@tsmalloc/testkit/trace");
    const main = await import("@tsmalloc/testkit");
    for (const [name, value] of Object.entries(browser)) expect(main[name as keyof typeof main], name).toBe(value);
    expect(Object.keys(browser).sort()).toEqual(["OP_CALLOC", "OP_FREE", "OP_MALLOC", "OP_MEMALIGN", "OP_REALLOC", "ReplayMismatch", "TraceFormatError", "TraceParser", "isGzip", "parseTrace", "replayTimed", "traceName", "traceProfile"]);
  });
});
