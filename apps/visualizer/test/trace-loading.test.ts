/*
 * Reading a trace from a Blob (src/trace-loading.ts), in Node's Blob / TransformStream /
 * DecompressionStream: gzip and plain text give what testkit's parseTrace gives for the same
 * text; a damaged gzip stream, a malformed line (plain, gzip, deep into the text, on a last line
 * without a newline) and an empty file give their errors; the progress callback follows the
 * bytes read up to the blob's size.
 */
import { readFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { bundledTracePath, parseTrace, type Trace, TraceFormatError } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { traceFromBlob } from "../src/trace-loading.ts";
import { rejected } from "./helpers.ts";

const compressed = readFileSync(bundledTracePath("py_compileall"));
const text = gunzipSync(compressed);
/** The first 20,000 lines of py_compileall, as text. */
const head = text.subarray(0, nthNewline(text, 20_000) + 1);

function nthNewline(bytes: Uint8Array, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) at = bytes.indexOf(0x0a, at + 1);
  return at;
}

function expectSameTrace(actual: Trace, expected: Trace): void {
  expect(actual.name).toBe(expected.name);
  expect(actual.length).toBe(expected.length);
  expect(actual.ids).toBe(expected.ids);
  for (const key of ["op", "id", "arg", "size"] as const) expect(Buffer.compare(Buffer.from(actual[key].buffer, actual[key].byteOffset, actual[key].byteLength), Buffer.from(expected[key].buffer, expected[key].byteOffset, expected[key].byteLength)), key).toBe(0);
}

/** Progress calls of a load: [read, total] pairs. */
async function loadWithProgress(blob: Blob, name: string): Promise<{ trace: Trace; calls: Array<[number, number]> }> {
  const calls: Array<[number, number]> = [];
  const trace = await traceFromBlob(blob, name, (read, total) => calls.push([read, total]));
  return { trace, calls };
}

function expectProgress(calls: ReadonlyArray<[number, number]>, size: number): void {
  expect(calls.length).toBeGreaterThan(0);
  for (const [, total] of calls) expect(total).toBe(size);
  for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThan(calls[i - 1]![0]);
  expect(calls.at(-1)![0]).toBe(size);
}

describe("traces read from a Blob", () => {
  it("the bundled gzip file: every event parseTrace reads, progress up to the file's size", async () => {
    const blob = new Blob([compressed]);
    const { trace, calls } = await loadWithProgress(blob, "py_compileall.trace.gz");
    expect(trace.length).toBe(995_232);
    expectSameTrace(trace, parseTrace(text, "py_compileall"));
    expectProgress(calls, compressed.length);
  });

  it("plain text and the same text gzipped give the same trace", async () => {
    const expected = parseTrace(head, "part");
    expect(expected.length).toBe(20_000);
    const plain = await loadWithProgress(new Blob([head]), "some/dir/part.trace");
    expectSameTrace(plain.trace, expected);
    expectProgress(plain.calls, head.length);
    const zipped = gzipSync(head);
    const gz = await loadWithProgress(new Blob([zipped]), "part.trace.gz");
    expectSameTrace(gz.trace, expected);
    expectProgress(gz.calls, zipped.length);
    // a blob made of many small parts (lines cut anywhere between chunks) reads the same, step by step
    const parts: Array<Uint8Array<ArrayBuffer>> = [];
    for (let at = 0; at < head.length; at += 777) parts.push(head.slice(at, at + 777));
    const pieces = await loadWithProgress(new Blob(parts), "part");
    expectSameTrace(pieces.trace, expected);
    expectProgress(pieces.calls, head.length);
    expect(pieces.calls.length).toBeGreaterThan(1);
    const zippedParts: Array<Uint8Array<ArrayBuffer>> = [];
    for (let at = 0; at < zipped.length; at += 1000) zippedParts.push(zipped.slice(at, at + 1000));
    const gzPieces = await loadWithProgress(new Blob(zippedParts), "part.gz");
    expectSameTrace(gzPieces.trace, expected);
    expectProgress(gzPieces.calls, zipped.length);
    expect(gzPieces.calls.length).toBeGreaterThan(1);
  });

  it("a last line without a newline is read; CRLF line ends are read", async () => {
    const trace = await traceFromBlob(new Blob(["a 0 10\r\nc 1 2 3\r\nr 0 2 40\nf 1"]), "t.trace");
    expect(trace.name).toBe("t");
    expect(trace.length).toBe(4);
    expect(Array.from(trace.op)).toEqual([0, 1, 2, 3]);
    expect(Array.from(trace.id)).toEqual([0, 1, 2, 1]);
    expect(Array.from(trace.arg)).toEqual([0, 2, 0, 0]);
    expect(Array.from(trace.size)).toEqual([10, 3, 40, 0]);
  });

  it("works without a progress callback", async () => {
    expect((await traceFromBlob(new Blob([gzipSync("a 0 1\n")]), "x.gz")).length).toBe(1);
  });
});

describe("errors", () => {
  const zipped = gzipSync(head);

  it.each([
    ["cut short", zipped.slice(0, zipped.length - 1000)],
    ["cut before its trailer", zipped.slice(0, zipped.length - 4)],
    ["the magic alone", zipped.slice(0, 2)],
    ["bytes flipped in the deflate stream", flipped(zipped, 40)],
    ["a wrong checksum", flipped(zipped, zipped.length - 6)],
  ])("a gzip file %s: Error 'not a valid gzip file'", async (_label, bytes) => {
    const error = (await rejected(() => traceFromBlob(new Blob([bytes]), "broken.trace.gz"))) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TraceFormatError);
    expect(error.message).toMatch(/^broken\.trace\.gz: not a valid gzip file \(.+\)$/);
    expect(error.cause).toBeDefined();
  });

  it("a malformed line: TraceFormatError with its line number (plain and gzip)", async () => {
    const lines = "a 0 10\na 1 20\nf 7\na 2 5\n";
    for (const bytes of [new TextEncoder().encode(lines), gzipSync(lines)]) {
      const error = (await rejected(() => traceFromBlob(new Blob([bytes]), "bad.trace.gz"))) as TraceFormatError;
      expect(error).toBeInstanceOf(TraceFormatError);
      expect(error.line).toBe(3);
      expect(error.reason).toBe('"f 7": ID 7 is not a live block (never allocated, or freed already)');
      expect(error.message).toBe('bad.trace.gz:3: "f 7": ID 7 is not a live block (never allocated, or freed already)');
    }
  });

  it("a malformed line deep into a gzip stream, and on a last line without a newline", async () => {
    const deep = Buffer.concat([head, Buffer.from("x 1 2\n")]);
    const error = (await rejected(() => traceFromBlob(new Blob([gzipSync(deep)]), "deep.trace.gz"))) as TraceFormatError;
    expect(error).toBeInstanceOf(TraceFormatError);
    expect(error.line).toBe(20_001);
    expect(error.message).toBe('deep.trace.gz:20001: "x 1 2": unknown event "x" (the events are a, c, r, f and m; # starts a comment)');
    const last = (await rejected(() => traceFromBlob(new Blob(["a 0 1\na 1 2 3"]), "last"))) as TraceFormatError;
    expect(last).toBeInstanceOf(TraceFormatError);
    expect(last.line).toBe(2);
    expect(last.message).toBe('last:2: "a 1 2 3": an extra field "3" after SIZE, the last field (a ID SIZE)');
  });

  it("comments and empty lines are not events, and the lines after them keep their numbers", async () => {
    const trace = await traceFromBlob(new Blob(["# by hand\n\na 0 10\n# then\nf 0\n\n"]), "hand.trace");
    expect(trace.length).toBe(2);
    const error = (await rejected(() => traceFromBlob(new Blob(["# by hand\n\na 0 10\nr 0 1\n"]), "hand.trace"))) as TraceFormatError;
    expect(error.message).toBe('hand.trace:4: "r 0 1": SIZE is missing (r OLDID NEWID SIZE)');
  });

  it.each([
    ["an empty file", new Uint8Array(0)],
    ["an empty gzip file", gzipSync(new Uint8Array(0))],
  ])("%s: Error 'the trace has no events'", async (_label, bytes) => {
    const error = (await rejected(() => traceFromBlob(new Blob([bytes]), "empty.trace"))) as Error;
    expect(error).not.toBeInstanceOf(TraceFormatError);
    expect(error.message).toBe("empty.trace: the trace has no events");
  });
});

function flipped(bytes: Uint8Array, at: number): Uint8Array<ArrayBuffer> {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 0xff;
  copy[at + 1]! ^= 0x55;
  return copy;
}
