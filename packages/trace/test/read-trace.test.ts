import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { type BundledTrace, bundledTracePath } from "@tsmalloc/bundled-traces";
import { loadTrace, OP_FREE, OP_MALLOC, readTrace, type Trace, TraceFormatError } from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "tsmalloc-"));

/** Writes `content` to a new file in the temp directory and returns its path. */
function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Whether two typed arrays hold the same bytes. */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Checks that two traces are the same, array by array. */
function expectSame(actual: Trace, expected: Trace): void {
  expect(actual.name).toBe(expected.name);
  expect(actual.length).toBe(expected.length);
  expect(actual.ids).toBe(expected.ids);
  expect(actual.op.length).toBe(expected.length);
  expect(sameBytes(actual.op, expected.op), "op").toBe(true);
  expect(sameBytes(actual.id, expected.id), "id").toBe(true);
  expect(sameBytes(actual.arg, expected.arg), "arg").toBe(true);
  expect(sameBytes(actual.size, expected.size), "size").toBe(true);
}

/** What `promise` rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** `count` lines of `a i 8`/`f i` pairs, with a bad line as line `badLine` when given. */
function manyLines(count: number, badLine?: number): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(i % 2 === 0 ? `a ${i >> 1} 8` : `f ${i >> 1}`);
  if (badLine !== undefined) lines[badLine - 1] = "a 0 bad";
  return lines.join("\n") + "\n";
}

describe("readTrace", () => {
  for (const name of ["py_compileall", "gcc_cc1_wrapt"] as const satisfies readonly BundledTrace[]) {
    it(`reads the bundled ${name} exactly as loadTrace does, reporting progress up to the file's size`, async () => {
      const path = bundledTracePath(name);
      const size = statSync(path).size;
      const progress: [number, number][] = [];
      const streamed = await readTrace(path, { onProgress: (bytesRead, totalBytes) => progress.push([bytesRead, totalBytes]) });
      expectSame(streamed, loadTrace(path));
      expect(streamed.name).toBe(name);
      expect(progress.length).toBeGreaterThan(1);
      for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThanOrEqual(progress[i - 1]![0]);
      expect(progress.every(([, total]) => total === size)).toBe(true);
      expect(progress.at(-1)![0]).toBe(size);
    });
  }

  it("reads a plain text file and a small gzip file, with a last line without a newline", async () => {
    const content = "a 0 5\r\nc 1 2 3\nr 0 2 9\nf 1\nf 2";
    const plain = await readTrace(file("small.trace", content));
    expectSame(plain, loadTrace(join(dir, "small.trace")));
    expect(plain.name).toBe("small");
    expect(plain.length).toBe(5);
    expect([...plain.op]).toEqual([OP_MALLOC, 1, 2, OP_FREE, OP_FREE]);
    const gzip = await readTrace(file("small.trace.gz", gzipSync(content)));
    expectSame(gzip, { ...plain, name: "small" });
  });

  it("reads a plain file larger than one read chunk", async () => {
    const path = file("long.txt", manyLines(200_000));
    const streamed = await readTrace(path);
    expect(streamed.length).toBe(200_000);
    expectSame(streamed, loadTrace(path));
    expect(streamed.name).toBe("long.txt");
  });

  it("with `limit` resolves with exactly `limit` events and stops reading early", async () => {
    const path = bundledTracePath("gcc_cc1_wrapt");
    const size = statSync(path).size;
    let lastRead = 0;
    const trace = await readTrace(path, { limit: 1000, onProgress: (bytesRead) => (lastRead = bytesRead) });
    expect(trace.length).toBe(1000);
    expect(trace.op.length).toBe(1000);
    expectSame(trace, loadTrace(path, 1000));
    expect(lastRead).toBeGreaterThan(0);
    expect(lastRead).toBeLessThan(size);
  });

  it("with a `limit` beyond the file keeps every event, and with limit 0 none", async () => {
    const path = file("five.trace", "a 0 1\na 1 2\nf 0\nf 1\na 2 3\n");
    expect((await readTrace(path, { limit: 100 })).length).toBe(5);
    expect((await readTrace(path, { limit: 2 })).length).toBe(2);
    expect((await readTrace(path, { limit: 0 })).length).toBe(0);
  });

  it("resolves with no events for an empty file", async () => {
    const trace = await readTrace(file("empty.trace", ""));
    expect(trace.length).toBe(0);
    expect(trace.ids).toBe(0);
    expect(trace.name).toBe("empty");
  });

  it("rejects with ENOENT for a missing file and EISDIR for a directory", async () => {
    expect(await rejection(readTrace(join(dir, "no-such.trace.gz")))).toMatchObject({ code: "ENOENT" });
    const sub = join(dir, "a-directory");
    mkdirSync(sub);
    expect(await rejection(readTrace(sub))).toMatchObject({ code: "EISDIR" });
  });

  it("rejects with the TraceFormatError of a malformed line, plain or gzip", async () => {
    // line 150,001 lies far beyond the first read chunk (and, for gzip, the first text chunk)
    const content = manyLines(200_000, 150_001);
    for (const path of [file("bad.trace", content), file("bad.trace.gz", gzipSync(content)), file("bad-early.trace", "a 0 1\nf 1\n")]) {
      const error = await rejection(readTrace(path));
      expect(error, path).toBeInstanceOf(TraceFormatError);
      const expected = path.endsWith("bad-early.trace")
        ? { line: 2, reason: '"f 1": ID 1 is not a live block (never allocated, or freed already)' }
        : { line: 150_001, reason: '"a 0 bad": SIZE "bad" is not a decimal number' };
      expect(error).toMatchObject(expected);
    }
  });

  it("rejects with zlib's error for a cut-off gzip file and for the gzip magic followed by garbage", async () => {
    const cutOff = file("cut.trace.gz", gzipSync(manyLines(1000)).subarray(0, 20));
    const garbage = file("garbage.trace.gz", new Uint8Array([0x1f, 0x8b, ...new TextEncoder().encode("this is not deflate data at all")]));
    for (const path of [cutOff, garbage]) {
      const error = await rejection(readTrace(path));
      expect(error, path).not.toBeInstanceOf(TraceFormatError);
      expect((error as { code?: unknown }).code, path).toMatch(/^Z_/);
    }
  });
});
