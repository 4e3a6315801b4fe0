/* `tsmalloc bench --allocators` (contenderList) and the contenders the bench workers build. */
import { smallChurn } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { contenderList } from "../src/bench-command.ts";
import { CONTENDER_NAMES, contenders, DEFAULT_CONTENDERS } from "../src/contenders.ts";
import { usageMessage } from "./helpers.ts";

const usage = (text: string): string => usageMessage(() => contenderList(text));

describe("contenderList", () => {
  it("without --allocators is the default columns", () => {
    expect(contenderList(undefined)).toEqual(["default", "malloc", "pymalloc_debug", "thi.ng/malloc", "uint8array"]);
    expect(contenderList(undefined)).toBe(DEFAULT_CONTENDERS);
  });

  it("keeps the order given, without the spaces around names", () => {
    expect(contenderList("uint8array,default")).toEqual(["uint8array", "default"]);
    expect(contenderList(" malloc , thi.ng/malloc")).toEqual(["malloc", "thi.ng/malloc"]);
    expect(contenderList(CONTENDER_NAMES.join(","))).toEqual(CONTENDER_NAMES);
  });

  it.each([
    ["", 'bench: --allocators has an empty name in "" (see tsmalloc bench --help)'],
    ["default,", 'bench: --allocators has an empty name in "default," (see tsmalloc bench --help)'],
    ["default, ,malloc", 'bench: --allocators has an empty name in "default, ,malloc" (see tsmalloc bench --help)'],
    [
      "default,jemalloc",
      'bench: --allocators: unknown allocator "jemalloc"; expected some of default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug, thi.ng/malloc, uint8array (see tsmalloc bench --help)',
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
  it("has a factory for every name --allocators takes", () => {
    expect(Object.keys(contenders).sort()).toEqual([...CONTENDER_NAMES].sort());
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
