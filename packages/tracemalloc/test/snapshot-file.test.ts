/*
 * Snapshot files: dump() writes JSON (format tsmalloc-tracemalloc-snapshot, version 1: frames,
 * tracebacks and traces, each stored once), load() reads it back; anything else is refused as
 * ERR_TSMALLOC_INCOMPATIBLE.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCode } from "@tsmalloc/memory";
import { Frame, Snapshot, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, Trace, Traceback } from "@tsmalloc/tracemalloc";
import { afterAll, describe, expect, it } from "vitest";
import { expectError, traced } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "tsmalloc-snapshots-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shared = new Traceback([new Frame("/app/main.js", 3), new Frame("/app/parse.js", 12)]);
const snapshot = new Snapshot(
  [new Trace(0, 100, shared), new Trace(0, 50, shared), new Trace(7, 8, new Traceback([new Frame("<unknown>", 0)])), new Trace(0, 1, new Traceback([new Frame("/app/parse.js", 12)]))],
  4,
);

describe("the file format", () => {
  it("is JSON that stores each frame and each traceback once", () => {
    expect(JSON.parse(snapshot.serialize())).toEqual({
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      tracebackLimit: 4,
      frames: [
        ["/app/main.js", 3],
        ["/app/parse.js", 12],
        ["<unknown>", 0],
      ],
      tracebacks: [[0, 1], [2], [1]],
      traces: [
        [0, 100, 0],
        [0, 50, 0],
        [7, 8, 1],
        [0, 1, 2],
      ],
    });
  });

  it("round-trips through a file: the same traces, limit and statistics", () => {
    const file = join(dir, "a.json");
    snapshot.dump(file);
    const loaded = Snapshot.load(file);
    expect(loaded.tracebackLimit).toBe(4);
    expect(loaded.traces.map(String)).toEqual(snapshot.traces.map(String));
    loaded.traces.forEach((t, i) => expect(t.equals(snapshot.traces[i])).toBe(true));
    // tracebacks shared before are shared after
    expect(loaded.traces[0]!.traceback).toBe(loaded.traces[1]!.traceback);
    expect(loaded.statistics("traceback").map(String)).toEqual(snapshot.statistics("traceback").map(String));
    expect(Snapshot.parse(readFileSync(file, "utf8")).compareTo(snapshot, "lineno").every((d) => d.sizeDiff === 0 && d.countDiff === 0)).toBe(true);
  });

  it("round-trips a tracer's snapshot", () => {
    const { runtime, tracer } = traced(3);
    for (let i = 0; i < 5; i++) runtime.objMalloc(8 * (i + 1));
    const taken = tracer.takeSnapshot();
    const file = join(dir, "tracer.json");
    taken.dump(file);
    const loaded = Snapshot.load(file);
    expect(loaded.statistics("lineno").map(String)).toEqual(taken.statistics("lineno").map(String));
    expect(loaded.traces.every((t, i) => t.equals(taken.traces[i]))).toBe(true);
  });

  it("an empty snapshot", () => {
    const empty = Snapshot.parse(new Snapshot([], 1).serialize());
    expect(empty.traces).toEqual([]);
    expect(empty.statistics("filename")).toEqual([]);
  });
});

describe("what is not a snapshot", () => {
  const good = JSON.parse(snapshot.serialize()) as Record<string, unknown>;
  const cases: [string, string][] = [
    ["not JSON", "{"],
    ["not an object", "[]"],
    ["another format", JSON.stringify({ ...good, format: "pickle" })],
    ["another version", JSON.stringify({ ...good, version: 2 })],
    ["a bad limit", JSON.stringify({ ...good, tracebackLimit: -1 })],
    ["frames not an array", JSON.stringify({ ...good, frames: {} })],
    ["a bad frame", JSON.stringify({ ...good, frames: [["a", -1]] })],
    ["a frame of three", JSON.stringify({ ...good, frames: [["a", 1, 2]] })],
    ["an empty traceback", JSON.stringify({ ...good, tracebacks: [[]] })],
    ["a traceback of a missing frame", JSON.stringify({ ...good, tracebacks: [[9]] })],
    ["a trace of a missing traceback", JSON.stringify({ ...good, traces: [[0, 1, 9]] })],
    ["a negative size", JSON.stringify({ ...good, traces: [[0, -1, 0]] })],
    ["a bad domain", JSON.stringify({ ...good, traces: [[-1, 1, 0]] })],
    ["a short trace", JSON.stringify({ ...good, traces: [[0, 1]] })],
  ];

  it.each(cases)("%s: ERR_TSMALLOC_INCOMPATIBLE", (_what, text) => {
    const error = expectError(() => Snapshot.parse(text), ErrorCode.Incompatible);
    expect(error.message).toMatch(/^Snapshot\.parse: not a tracemalloc snapshot of format tsmalloc-tracemalloc-snapshot version 1: /);
    const file = join(dir, "bad.json");
    writeFileSync(file, text);
    expect(expectError(() => Snapshot.load(file), ErrorCode.Incompatible).message).toContain(`Snapshot.load: ${file}: not a tracemalloc snapshot`);
  });

  it("a file that does not exist: the file system's error", () => {
    expect(() => Snapshot.load(join(dir, "missing.json"))).toThrow(/ENOENT/);
  });
});
