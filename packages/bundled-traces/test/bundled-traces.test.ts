import { existsSync, readFileSync } from "node:fs";
import { isAbsolute } from "node:path";
import { BUNDLED_TRACES, bundledTraceMeta, bundledTracePath, isBundledTrace, UnknownTraceError } from "@tsmalloc/bundled-traces";
import * as info from "@tsmalloc/bundled-traces/info";
import { describe, expect, it } from "vitest";

describe("the bundled traces", () => {
  it.each(BUNDLED_TRACES)("$name is a gzip file beside its statistics, which agree with the list", ({ name, events }) => {
    const path = bundledTracePath(name);
    expect(isAbsolute(path)).toBe(true);
    expect(path.endsWith(`/traces/${name}.trace.gz`)).toBe(true);
    const head = readFileSync(path).subarray(0, 2);
    expect([...head]).toEqual([0x1f, 0x8b]);
    const meta = bundledTraceMeta(name);
    expect(meta.events).toBe(events);
    const { a, c, r, f, m } = meta.count;
    expect(a + c + r + f + m).toBe(events);
    expect(meta.requests).toBe(a + c + r + m);
    expect(Object.values(meta.size_hist).reduce((sum, n) => sum + n, 0)).toBe(meta.requests);
  });

  it("names exactly the files in traces/", () => {
    expect(BUNDLED_TRACES.map((trace) => trace.name)).toEqual(["py_compileall", "gcc_cc1_wrapt"]);
    for (const { name } of BUNDLED_TRACES) expect(existsSync(bundledTracePath(name).replace(/\.trace\.gz$/, ".meta.json"))).toBe(true);
  });

  it("refuses any other name with UnknownTraceError and its code", () => {
    for (const name of ["bogus", "", "py_compileall.trace.gz", "../traces/py_compileall", undefined, 7]) {
      expect(isBundledTrace(name)).toBe(false);
      expect(() => bundledTracePath(name as never)).toThrow(UnknownTraceError);
      expect(() => bundledTraceMeta(name as never)).toThrow(/is not a bundled trace; they are py_compileall, gcc_cc1_wrapt/);
    }
    try {
      bundledTracePath("bogus" as never);
    } catch (error) {
      expect((error as UnknownTraceError).code).toBe("ERR_TSMALLOC_UNKNOWN_TRACE");
    }
    expect(isBundledTrace("gcc_cc1_wrapt")).toBe(true);
  });

  it("lists them at /info too, the same objects", () => {
    expect(info.BUNDLED_TRACES).toBe(BUNDLED_TRACES);
    expect(info.isBundledTrace).toBe(isBundledTrace);
  });
});
