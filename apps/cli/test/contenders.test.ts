/* `tsmalloc bench --allocators` (contenderList) and the contenders the bench workers build. */
import { smallChurn } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { contenderList } from "../src/bench-command.ts";
import { CONTENDER_NAMES, contenders, DEFAULT_CONTENDERS, NATIVE_NAMES, WORKER_CONTENDER_NAMES } from "../src/contenders.ts";
import { EMPTY_ARENA_BYTES, EmptyTarget } from "../src/empty-target.ts";
import { NATIVE_CONTENDERS } from "../src/native-replayer.ts";
import { usageMessage } from "./helpers.ts";

const usage = (text: string): string => usageMessage(() => contenderList(text));

describe("contenderList", () => {
  it("without --allocators is the default columns", () => {
    expect(contenderList(undefined)).toEqual(["default", "malloc", "pymalloc_debug", "glibc", "mimalloc", "thi.ng/malloc", "uint8array", "empty", "empty-c"]);
    expect(contenderList(undefined)).toBe(DEFAULT_CONTENDERS);
  });

  it("keeps the order given, without the spaces around names", () => {
    expect(contenderList("uint8array,default")).toEqual(["uint8array", "default"]);
    expect(contenderList(" malloc , thi.ng/malloc")).toEqual(["malloc", "thi.ng/malloc"]);
    expect(contenderList("glibc,default,empty-c,empty")).toEqual(["glibc", "default", "empty-c", "empty"]);
    expect(contenderList(CONTENDER_NAMES.join(","))).toEqual(CONTENDER_NAMES);
  });

  it.each([
    ["", 'bench: --allocators has an empty name in "" (see tsmalloc bench --help)'],
    ["default,", 'bench: --allocators has an empty name in "default," (see tsmalloc bench --help)'],
    ["default, ,malloc", 'bench: --allocators has an empty name in "default, ,malloc" (see tsmalloc bench --help)'],
    [
      "default,jemalloc",
      'bench: --allocators: unknown allocator "jemalloc"; expected some of default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug, thi.ng/malloc, uint8array, empty, glibc, mimalloc, empty-c (see tsmalloc bench --help)',
    ],
    ["Default", /^bench: --allocators: unknown allocator "Default"; /],
    ["malloc,default,malloc", 'bench: --allocators names "malloc" twice (see tsmalloc bench --help)'],
    ["malloc, malloc", 'bench: --allocators names "malloc" twice (see tsmalloc bench --help)'],
  ])("refuses %j", (text, message) => {
    if (typeof message === "string") expect(usage(text)).toBe(message);
    else expect(usage(text)).toMatch(message);
  });
});

describe("contenders", () => {
  it("has a factory for every name --allocators takes but the native ones, which have a build and an allocator of the C replayer", () => {
    expect(Object.keys(contenders).sort()).toEqual([...WORKER_CONTENDER_NAMES].sort());
    expect(CONTENDER_NAMES).toEqual([...WORKER_CONTENDER_NAMES, ...NATIVE_NAMES]);
    expect(Object.keys(NATIVE_CONTENDERS)).toEqual(NATIVE_NAMES);
  });

  it("each configuration's target serves a malloc and a free from its own memory", () => {
    for (const name of ["default", "malloc", "pymalloc_debug"]) {
      const target = contenders[name]!({ kind: "churn", churn: smallChurn(10) });
      expect(target, name).not.toBeNull();
      const p = target!.malloc(100);
      expect(p, name).toBeGreaterThan(0);
      expect(p % 16, name).toBe(0);
      target!.free(p);
    }
  });
});

describe("EmptyTarget, the empty allocator", () => {
  it("hands out 16-byte aligned blocks one after another, and frees nothing", () => {
    const heap = new EmptyTarget();
    const a = heap.malloc(1);
    const b = heap.malloc(0);
    const c = heap.malloc(100);
    expect([a, b, c]).toEqual([16, 48, 80]);
    heap.free(b);
    expect(heap.malloc(8)).toBe(208);
    expect(heap.memalign(4096, 10) % 4096).toBe(0);
    expect(heap.memalign(8, 10) % 16).toBe(0);
  });

  it("calloc zeroes; realloc copies what fits into a new block", () => {
    const heap = new EmptyTarget();
    const u8 = heap.memory.u8;
    const p = heap.malloc(40);
    u8.fill(7, p, p + 40);
    const grown = heap.realloc(p, 100);
    expect(grown).not.toBe(p);
    expect([...u8.subarray(grown, grown + 40)]).toEqual(Array(40).fill(7));
    const shrunk = heap.realloc(grown, 10);
    expect([...u8.subarray(shrunk, shrunk + 10)]).toEqual(Array(10).fill(7));
    // a calloc over memory used before (the pointer has gone round) is zero
    for (let i = 0; i < 300; i++) {
      const q = heap.malloc(4000);
      u8.fill(9, q, q + 4000);
    }
    const z = heap.calloc(10, 10);
    expect(z).toBeLessThan(2 ** 19);
    expect([...u8.subarray(z, z + 100)]).toEqual(Array(100).fill(0));
  });

  it("goes round its first MiB; a larger block starts at the arena's start; one it cannot hold is 0", () => {
    const heap = new EmptyTarget();
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(heap.malloc(10_000));
    expect(Math.max(...seen)).toBeLessThan(2 ** 20);
    expect(seen.size).toBeLessThan(1000);
    expect(heap.malloc(5 * 2 ** 20)).toBe(16);
    expect(heap.malloc(EMPTY_ARENA_BYTES)).toBe(0);
    expect(heap.calloc(2 ** 20, 2 ** 30)).toBe(0);
    expect(heap.memalign(2 ** 31, 8)).toBe(0);
  });
});
