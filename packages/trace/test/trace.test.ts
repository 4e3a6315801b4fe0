import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { bundledTraceMeta, bundledTracePath } from "@tsmalloc/bundled-traces";
import {
  isGzip,
  isTraceError,
  loadTrace,
  OP_CALLOC,
  OP_FREE,
  OP_MALLOC,
  OP_MEMALIGN,
  OP_REALLOC,
  parseTrace,
  TraceErrorCode,
  TraceFormatError,
  traceLine,
  traceName,
} from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";
import { text, thrown } from "./helpers.ts";



describe("parseTrace", () => {
  it("reads every event kind into typed arrays", () => {
    const trace = parseTrace(text("a 0 16\nc 1 4 8\nr 0 2 100\nm 3 64 10\nf 1\nf 2\n"), "t");
    expect(trace.length).toBe(6);
    expect(trace.ids).toBe(4);
    expect([...trace.op]).toEqual([OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_MEMALIGN, OP_FREE, OP_FREE]);
    expect([...trace.id]).toEqual([0, 1, 2, 3, 1, 2]);
    expect([...trace.arg]).toEqual([0, 4, 0, 64, 0, 0]);
    expect([...trace.size]).toEqual([16, 8, 100, 10, 0, 0]);
    expect(trace.lineShifts).toBeUndefined();
  });

  it("accepts a last line without a newline, CRLF line ends, zero sizes and the largest numbers", () => {
    const trace = parseTrace(text("a 0 0\r\nf 0"), "t");
    expect(trace.length).toBe(2);
    expect(trace.size[0]).toBe(0);
    const big = parseTrace(text("a 4294967295 9007199254740992\nc 0 4294967295 2097152\nm 1 2147483648 007\n"), "t");
    expect([...big.id]).toEqual([4294967295, 0, 1]);
    expect([...big.size]).toEqual([2 ** 53, 2097152, 7]);
    expect(big.arg[2]).toBe(2 ** 31);
  });

  it("keeps only the first `limit` events", () => {
    const trace = parseTrace(text("a 0 1\na 1 2\na 2 3\n"), "t", 2);
    expect(trace.length).toBe(2);
    expect(trace.op.length).toBe(2);
  });

  describe("comments and empty lines", () => {
    const written = [
      "# a trace written by hand",
      "",
      "a 0 100",
      "#a comment needs no space",
      "   ",
      "\t",
      "f 0",
      "",
      "# the last line is empty",
      "",
    ].join("\n");

    it("are not events, anywhere (a final empty line too), with LF or CRLF", () => {
      for (const input of [written, written.replaceAll("\n", "\r\n")]) {
        const trace = parseTrace(text(input), "hand");
        expect([...trace.op]).toEqual([OP_MALLOC, OP_FREE]);
        expect([...trace.size]).toEqual([100, 0]);
      }
      expect(parseTrace(text("\n\n\n"), "t").length).toBe(0);
      expect(parseTrace(text("# only a comment"), "t").length).toBe(0);
      expect(parseTrace(text("a 0 1\n\n"), "t").length).toBe(1);
    });

    it("keep the line numbers: traceLine gives each event's line", () => {
      const trace = parseTrace(text(written), "hand");
      expect(traceLine(trace, 1)).toBe(3);
      expect(traceLine(trace, 2)).toBe(7);
      const plain = parseTrace(text("a 0 1\nf 0\n"), "plain");
      expect([traceLine(plain, 1), traceLine(plain, 2)]).toEqual([1, 2]);
      const late = parseTrace(text("a 0 1\na 1 1\n# here\nf 0\nf 1\n"), "late");
      expect([1, 2, 3, 4].map((event) => traceLine(late, event))).toEqual([1, 2, 4, 5]);
      expect([...late.lineShifts!]).toEqual([2, 1]);
    });

    it("traceLine refuses an event outside the trace", () => {
      const trace = parseTrace(text("a 0 1\n"), "t");
      for (const event of [0, 2, 1.5, NaN, -1]) expect(isTraceError(thrown(() => traceLine(trace, event)), TraceErrorCode.InvalidArgument), String(event)).toBe(true);
    });
  });

  // every rule of the format: the message names the field and quotes the line
  it.each([
    // the three
    ["r 1 2", '"r 1 2": SIZE is missing (r OLDID NEWID SIZE)'],
    ["a 1 0x10", '"a 1 0x10": SIZE "0x10" is not a decimal number'],
    ["a  1 100", '"a  1 100": two spaces before ID (fields are separated by one space)'],
    // missing fields
    ["a", '"a": ID is missing (a ID SIZE)'],
    ["a 1", '"a 1": SIZE is missing (a ID SIZE)'],
    ["a 1 ", '"a 1 ": SIZE is missing (the line ends with a space) (a ID SIZE)'],
    ["c 1 2", '"c 1 2": SIZE is missing (c ID NMEMB SIZE)'],
    ["c 1", '"c 1": NMEMB is missing (c ID NMEMB SIZE)'],
    ["r 1", '"r 1": NEWID is missing (r OLDID NEWID SIZE)'],
    ["f", '"f": ID is missing (f ID)'],
    ["m 1 16", '"m 1 16": SIZE is missing (m ID ALIGN SIZE)'],
    // bad numbers
    ["a 0 -1", '"a 0 -1": SIZE "-1" is not a decimal number'],
    ["a 0 1.5", '"a 0 1.5": SIZE "1.5" is not a decimal number'],
    ["a x 1", '"a x 1": ID "x" is not a decimal number'],
    ["c 0 +2 8", '"c 0 +2 8": NMEMB "+2" is not a decimal number'],
    ["m 0 1e3 8", '"m 0 1e3 8": ALIGN "1e3" is not a decimal number'],
    ["a 0 9007199254740993", '"a 0 9007199254740993": SIZE 9007199254740993 is larger than 2^53'],
    ["a 0 123456789012345678901234567890", '"a 0 123456789012345678901234567890": SIZE 123456789012345678901234567890 is larger than 2^53'],
    ["a 4294967296 1", '"a 4294967296 1": ID 4294967296 does not fit in 32 bits'],
    ["c 0 4294967296 1", '"c 0 4294967296 1": NMEMB 4294967296 does not fit in 32 bits'],
    ["c 0 4294967295 4294967295", '"c 0 4294967295 4294967295": NMEMB × SIZE (4294967295 × 4294967295) is larger than 2^53'],
    ["m 0 3 8", '"m 0 3 8": ALIGN 3 is not a power of two'],
    ["m 0 0 8", '"m 0 0 8": ALIGN 0 is not a power of two'],
    // spaces, tabs, extra fields
    ["a 1 100 ", '"a 1 100 ": a space after SIZE, the last field'],
    ["a 1  100", '"a 1  100": two spaces before SIZE (fields are separated by one space)'],
    [" a 1 100", '" a 1 100": a space before the event letter'],
    ["a\t1 100", '"a\\t1 100": a tab (fields are separated by one space)'],
    ["a 1 100 5", '"a 1 100 5": an extra field "5" after SIZE, the last field (a ID SIZE)'],
    ["f 0 0", '"f 0 0": an extra field "0" after ID, the last field (f ID)'],
    ["a 1 100 # note", '"a 1 100 # note": an extra field "#" after SIZE, the last field (a ID SIZE)'],
    // letters
    ["x 0 1", '"x 0 1": unknown event "x" (the events are a, c, r, f and m; # starts a comment)'],
    ["A 0 1", '"A 0 1": unknown event "A" (the events are a, c, r, f and m; # starts a comment)'],
    ["a0 1", '"a0 1": the event letter a must be followed by a space'],
    ["malloc 0 1", '"malloc 0 1": the event letter m must be followed by a space'],
    [" # not a comment", '" # not a comment": a space before the event letter'],
    // block ids
    ["f 1", '"f 1": ID 1 is not a live block (never allocated, or freed already)'],
    ["r 5 1 3", '"r 5 1 3": OLDID 5 is not a live block (never allocated, or freed already)'],
  ])("refuses %j: %s", (line, reason) => {
    for (const input of [`${line}\n`, line, `# first\n${line}\r\n`]) {
      const error = thrown(() => parseTrace(text(input), "bad.trace"));
      expect(error).toBeInstanceOf(TraceFormatError);
      const expectedLine = input.startsWith("#") ? 2 : 1;
      expect(error).toMatchObject({ line: expectedLine, reason, source: "bad.trace", code: TraceErrorCode.Format });
      expect((error as TraceFormatError).message).toBe(`bad.trace:${expectedLine}: ${reason}`);
    }
  });

  it.each([
    ["a 0 1\nf 0\nf 0\n", 3, '"f 0": ID 0 is not a live block (never allocated, or freed already)'],
    ["a 0 1\na 0 2\n", 2, '"a 0 2": ID 0 is already a live block'],
    ["a 0 1\na 1 1\nr 0 1 5\n", 3, '"r 0 1 5": NEWID 1 is already a live block'],
    ["a 0 1\nc 0 1 1\n", 2, '"c 0 1 1": ID 0 is already a live block'],
  ])("refuses a trace whose ids break the rules: %j at line %i", (input, line, reason) => {
    expect(thrown(() => parseTrace(text(input), "ids"))).toMatchObject({ line, reason });
  });

  it("allows r to give the old id back (r 5 5 8)", () => {
    const trace = parseTrace(text("a 5 1\nr 5 5 8\nf 5\n"), "same");
    expect(trace.length).toBe(3);
  });

  it("quotes a long line cut at 60 characters, and refuses an event line of over 256 bytes before its end", () => {
    const long = `a 0 ${"9".repeat(70)}`;
    expect(thrown(() => parseTrace(text(long), "t"))).toMatchObject({ reason: `"${long.slice(0, 60)}…": SIZE ${"9".repeat(70)} is larger than 2^53` });
    const endless = `a 0 1\n${"x".repeat(1000)}`;
    expect(thrown(() => parseTrace(text(endless), "t"))).toMatchObject({ line: 2, reason: `"${"x".repeat(60)}…": a line of over 256 bytes that is not a comment (no event is that long)` });
    // a comment may be as long as it likes
    expect(parseTrace(text(`# ${"x".repeat(100_000)}\na 0 1\n`), "t").length).toBe(1);
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
      expect(trace.lineShifts).toBeUndefined();
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

describe("@tsmalloc/trace/browser", () => {
  // The visualizer bundles this entry for the browser: nothing it reaches may import a Node API.
  it("reaches no Node module, however deep", () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/^(?:import|export)\b[^;]*?from "([^"]+)";/gms)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/^node:|^(fs|path|url|zlib|stream|worker_threads|module|os|child_process)$/);
        // and no package but this one's own modules
        expect(spec, `${file} imports ${spec}`).toMatch(/^\./);
        visit(join(dirname(file), spec!));
      }
    };
    visit(fileURLToPath(new URL("../src/browser.ts", import.meta.url)));
    expect(seen.size).toBeGreaterThan(10);
    expect([...seen].map((f) => f.replace(/.*\/src\//, ""))).not.toContain("read-trace.ts");
  });

  it("exports what the main entry exports under the same names, and the main entry adds the files", async () => {
    const browser = await import("@tsmalloc/trace/browser");
    const main = await import("@tsmalloc/trace");
    for (const [name, value] of Object.entries(browser)) expect(main[name as keyof typeof main], name).toBe(value);
    const onlyMain = Object.keys(main).filter((name) => !(name in browser));
    expect(onlyMain.sort()).toEqual(["TraceFileWriter", "createTraceFile", "loadTrace", "readTrace"]);
  });
});
