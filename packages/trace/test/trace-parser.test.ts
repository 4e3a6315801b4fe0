import { isTraceError, OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, parseTrace, type Trace, TraceErrorCode, TraceFormatError, TraceParser } from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";
import { text, thrown } from "./helpers.ts";


/** Every field of a trace, as plain arrays (so that toEqual compares values, not buffers). */
function fields(trace: Trace): object {
  return {
    name: trace.name,
    length: trace.length,
    ids: trace.ids,
    op: [...trace.op],
    id: [...trace.id],
    arg: [...trace.arg],
    size: [...trace.size],
  };
}

/**
 * Pushes `chunks` into a fresh parser, each through one scratch buffer that is overwritten right
 * after the push (as a stream may reuse its buffers), then ends it.
 */
function parseChunks(chunks: readonly Uint8Array[], name = "t", limit?: number): Trace {
  const parser = new TraceParser(name, limit);
  const scratch = new Uint8Array(Math.max(1, ...chunks.map((c) => c.length)));
  for (const chunk of chunks) {
    scratch.set(chunk);
    parser.push(scratch.subarray(0, chunk.length));
    scratch.fill(0x7a);
  }
  return parser.end();
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Uint8Array, ...at: number[]): Uint8Array[] {
  const edges = [0, ...at, bytes.length];
  return edges.slice(1).map((end, i) => bytes.subarray(edges[i]!, end));
}

/** `bytes` as 1-byte chunks. */
function bytewise(bytes: Uint8Array): Uint8Array[] {
  return [...bytes].map((_, i) => bytes.subarray(i, i + 1));
}

/** The TraceFormatError `run` throws (fails the test when it throws nothing or something else). */
function formatError(run: () => unknown): TraceFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TraceFormatError);
    return error as TraceFormatError;
  }
  throw new Error("expected a TraceFormatError, got none");
}

// every event kind, LF and CRLF line ends, a zero size, and a last line without a newline
const SAMPLE = "a 0 16\r\nc 1 4 8\nr 0 2 100\r\nm 3 64 10\nf 1\r\nf 2\na 4 0\r\nc 5 3 7\nf 3";

describe("TraceParser", () => {
  const bytes = text(SAMPLE);
  const whole = parseTrace(bytes, "t");

  it("parses the sample as expected (the reference the split tests compare with)", () => {
    expect(fields(whole)).toEqual({
      name: "t",
      length: 9,
      ids: 6,
      op: [OP_MALLOC, OP_CALLOC, OP_REALLOC, OP_MEMALIGN, OP_FREE, OP_FREE, OP_MALLOC, OP_CALLOC, OP_FREE],
      id: [0, 1, 2, 3, 1, 2, 4, 5, 3],
      arg: [0, 4, 0, 64, 0, 0, 0, 3, 0],
      size: [16, 8, 100, 10, 0, 0, 0, 7, 0],
    });
  });

  it("gives the same trace for a split at every offset", () => {
    for (let k = 0; k <= bytes.length; k++) {
      expect(fields(parseChunks(cut(bytes, k))), `split at ${k}`).toEqual(fields(whole));
    }
  });

  it("gives the same trace for every pair of split points (three chunks, some empty)", () => {
    const reference = JSON.stringify(fields(whole));
    let cases = 0;
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const trace = parseChunks(cut(bytes, i, j));
        // (one expect per mismatch only: thousands of passing expects would be slow)
        if (JSON.stringify(fields(trace)) !== reference) expect(fields(trace), `split at ${i} and ${j}`).toEqual(fields(whole));
        cases++;
      }
    }
    expect(cases).toBe(((bytes.length + 1) * (bytes.length + 2)) / 2);
  });

  it("gives the same trace for 1-byte chunks", () => {
    expect(fields(parseChunks(bytewise(bytes)))).toEqual(fields(whole));
  });

  it("gives the same trace, lines and line shifts wherever a text with comments and empty lines is cut", () => {
    const input = text("# head\r\n\na 0 16\n  \n# a comment cut anywhere\nc 1 4 8\r\n\n\nf 0\n# tail without a newline");
    const reference = parseTrace(input, "t");
    expect(fields(reference)).toMatchObject({ length: 3, op: [OP_MALLOC, OP_CALLOC, OP_FREE] });
    expect([...reference.lineShifts!]).toEqual([0, 2, 1, 4, 2, 6]);
    const lines = (chunks: Uint8Array[]): number => {
      const parser = new TraceParser("t");
      for (const chunk of chunks) parser.push(chunk);
      parser.end();
      return parser.lines;
    };
    for (let k = 0; k <= input.length; k++) {
      const trace = parseChunks(cut(input, k));
      expect(fields(trace), `split at ${k}`).toEqual(fields(reference));
      expect([...trace.lineShifts!], `split at ${k}`).toEqual([...reference.lineShifts!]);
    }
    expect([...parseChunks(bytewise(input)).lineShifts!]).toEqual([...reference.lineShifts!]);
    expect(lines([input])).toBe(10);
    expect(lines(bytewise(input))).toBe(10);
  });

  it("skips a comment that spans many chunks without keeping it", () => {
    const parser = new TraceParser("t");
    parser.push(text("a 0 1\n# "));
    for (let i = 0; i < 1000; i++) parser.push(text("x".repeat(1000)));
    parser.push(text("\nf 0\n"));
    const trace = parser.end();
    expect(trace.length).toBe(2);
    expect(parser.lines).toBe(3);
  });

  it("takes a split between \\r and \\n", () => {
    const input = text("a 0 1\r\nf 0\r\na 1 5\r\n");
    const cr = input.indexOf(0x0d);
    expect(fields(parseChunks(cut(input, cr + 1)))).toEqual(fields(parseTrace(input, "t")));
    expect(fields(parseChunks([text("a 0 1\r"), text("\nf 0\r"), text("\n")]))).toEqual({
      name: "t",
      length: 2,
      ids: 1,
      op: [OP_MALLOC, OP_FREE],
      id: [0, 0],
      arg: [0, 0],
      size: [1, 0],
    });
    // a text that ends between \r and \n: the \r ends the last line
    expect(fields(parseChunks([text("a 0 1\r\nf 0\r")]))).toEqual(fields(parseTrace(text("a 0 1\nf 0"), "t")));
    expect(fields(parseChunks([text("a 0 1\r\nf 0"), text("\r")]))).toEqual(fields(parseTrace(text("a 0 1\nf 0"), "t")));
    // text after the \r is still an error when it comes in the next chunk
    const error = formatError(() => parseChunks([text("a 0 1\r"), text("x\n")]));
    expect(error.line).toBe(1);
    expect(error.reason).toBe('"a 0 1\\rx": SIZE "1\\rx" is not a decimal number');
  });

  it.each([
    ["a 0 1\nf 0\nf 0\na 1 2\n", 3, '"f 0": ID 0 is not a live block (never allocated, or freed already)'],
    ["a 0 1\r\nc 1 2 x\r\na 2 3\r\n", 2, '"c 1 2 x": SIZE "x" is not a decimal number'],
    ["a 0 1\na 1 2\na 2 3\na 3 4\nq 4 5\n", 5, '"q 4 5": unknown event "q" (the events are a, c, r, f and m; # starts a comment)'],
    // lines that are not events do not count as events, but they count as lines
    ["# a comment\n\na 0 1\n\n# another\nf 1\n", 6, '"f 1": ID 1 is not a live block (never allocated, or freed already)'],
    // the bad line is the last one, without a newline: found by end()
    ["a 0 1\nf 0\nf 9", 3, '"f 9": ID 9 is not a live block (never allocated, or freed already)'],
  ])("reports the right line of %j wherever the text is cut", (input, line, reason) => {
    const bad = text(input);
    const check = (error: TraceFormatError, where: string): void => {
      expect(error.line, where).toBe(line);
      expect(error.reason, where).toBe(reason);
      expect(error.message, where).toBe(`bad:${line}: ${reason}`);
    };
    check(formatError(() => parseTrace(bad, "bad")), "whole");
    for (let k = 0; k <= bad.length; k++) check(formatError(() => parseChunks(cut(bad, k), "bad")), `split at ${k}`);
    check(formatError(() => parseChunks(bytewise(bad), "bad")), "1-byte chunks");
  });

  it("leaves events and lines at the last good line when a line is malformed", () => {
    const parser = new TraceParser("bad");
    parser.push(text("a 0 1\nf 0\nf"));
    expect(parser.events).toBe(2);
    expect(formatError(() => parser.push(text(" 0\na 1 1\n"))).line).toBe(3);
    expect(parser.events).toBe(2);
    expect(parser.lines).toBe(2);
  });

  it("counts events and lines as complete lines arrive", () => {
    const parser = new TraceParser("t");
    expect([parser.events, parser.lines]).toEqual([0, 0]);
    parser.push(text("a 0 1\na 1"));
    expect([parser.events, parser.lines]).toEqual([1, 1]);
    parser.push(text(" 2\r"));
    expect([parser.events, parser.lines]).toEqual([1, 1]);
    parser.push(text("\nf 0\nr 1 2 9\nf"));
    expect([parser.events, parser.lines]).toEqual([4, 4]);
    parser.push(text(" 2"));
    expect([parser.events, parser.lines]).toEqual([4, 4]);
    const trace = parser.end();
    expect([parser.events, parser.lines]).toEqual([5, 5]);
    expect(trace.length).toBe(5);
    expect([...trace.op]).toEqual([OP_MALLOC, OP_MALLOC, OP_FREE, OP_REALLOC, OP_FREE]);
  });

  it("stops at `limit`: `full` turns true, later pushes are ignored and the arrays are trimmed", () => {
    const lines = Array.from({ length: 10 }, (_, i) => `a ${i} ${i + 1}\n`).join("");
    const input = text(lines);
    const parser = new TraceParser("t", 4);
    let pushed = 0;
    while (!parser.full) {
      expect(parser.events).toBeLessThan(4);
      parser.push(input.subarray(pushed, pushed + 7));
      pushed += 7;
    }
    expect(pushed).toBeLessThan(input.length);
    expect(parser.events).toBe(4);
    // neither the rest of the text nor garbage is looked at any more
    parser.push(input.subarray(pushed));
    parser.push(text("this is not a trace\n"));
    expect(parser.events).toBe(4);
    expect(parser.full).toBe(true);
    const trace = parser.end();
    expect(fields(trace)).toEqual({ name: "t", length: 4, ids: 4, op: [0, 0, 0, 0], id: [0, 1, 2, 3], arg: [0, 0, 0, 0], size: [1, 2, 3, 4] });
    expect([trace.op.length, trace.id.length, trace.arg.length, trace.size.length]).toEqual([4, 4, 4, 4]);
  });

  it("gives the same limited trace wherever the text is cut, and ignores a bad line after the limit", () => {
    const input = text("a 0 1\r\nc 1 2 3\nr 0 2 5\r\nf 1\nthis line is never parsed");
    const reference = parseTrace(input, "t", 3);
    expect(reference.length).toBe(3);
    for (let k = 0; k <= input.length; k++) expect(fields(parseChunks(cut(input, k), "t", 3)), `split at ${k}`).toEqual(fields(reference));
    expect(fields(parseChunks(bytewise(input), "t", 3))).toEqual(fields(reference));
    expect(() => parseTrace(input, "t")).toThrow(TraceFormatError);
  });

  it("with limit 0 is full at once and returns no events", () => {
    const parser = new TraceParser("t", 0);
    expect(parser.full).toBe(true);
    parser.push(text("garbage\n"));
    const trace = parser.end();
    expect(trace.length).toBe(0);
    expect(trace.ids).toBe(0);
    expect(trace.op.length).toBe(0);
  });

  it("refuses push() after end() and a second end()", () => {
    const parser = new TraceParser("t");
    parser.push(text("a 0 1\n"));
    expect(parser.end().length).toBe(1);
    expect(() => parser.push(text("f 0\n"))).toThrow(/push\(\) after end\(\)/);
    expect(() => parser.push(new Uint8Array(0))).toThrow(/after end/);
    expect(() => parser.end()).toThrow(/twice/);
  });

  it("refuses a limit that is not a non-negative number", () => {
    for (const make of [() => new TraceParser("t", NaN), () => new TraceParser("t", -1), () => parseTrace(text("a 0 1\n"), "t", -1)]) {
      expect(isTraceError(thrown(make), TraceErrorCode.InvalidArgument)).toBe(true);
    }
    expect(new TraceParser("t", 0).full).toBe(true);
    expect(new TraceParser("t", Infinity).full).toBe(false);
  });

  it("grows its arrays past the first capacity (65,536 events)", () => {
    const n = 200_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(i % 2 === 0 ? `a ${i} ${i % 1000}` : `c ${i} ${i % 7} ${i % 100}`);
    const input = text(lines.join("\n"));
    // one push, and 4 KiB chunks (lines cut across the growth points)
    const traces = [parseTrace(input, "big"), parseChunks(Array.from({ length: Math.ceil(input.length / 4096) }, (_, k) => input.subarray(k * 4096, (k + 1) * 4096)), "big")];
    for (const trace of traces) {
      expect(trace.length).toBe(n);
      expect(trace.ids).toBe(n);
      expect([trace.op.length, trace.id.length, trace.arg.length, trace.size.length]).toEqual([n, n, n, n]);
      let wrong = 0;
      for (let i = 0; i < n; i++) {
        const even = i % 2 === 0;
        if (trace.op[i] !== (even ? OP_MALLOC : OP_CALLOC)) wrong++;
        if (trace.id[i] !== i) wrong++;
        if (trace.arg[i] !== (even ? 0 : i % 7)) wrong++;
        if (trace.size[i] !== (even ? i % 1000 : i % 100)) wrong++;
      }
      expect(wrong).toBe(0);
      for (const i of [65_535, 65_536, 131_071, 131_072, n - 1]) expect(trace.id[i]).toBe(i);
      expect(trace.size[65_536]).toBe(536);
      expect(trace.arg[131_073]).toBe(131_073 % 7);
    }
  });

  it("grows to 200,000 `a i 8` events", () => {
    const n = 200_000;
    let s = "";
    for (let i = 0; i < n; i++) s += `a ${i} 8\n`;
    const trace = parseTrace(text(s), "big");
    expect(trace.length).toBe(n);
    expect(trace.ids).toBe(n);
    expect(trace.op.length).toBe(n);
    expect(trace.op.every((op) => op === OP_MALLOC)).toBe(true);
    expect(trace.size.every((size) => size === 8)).toBe(true);
    expect([trace.id[0], trace.id[65_535], trace.id[65_536], trace.id[199_999]]).toEqual([0, 65_535, 65_536, 199_999]);
  });
});
