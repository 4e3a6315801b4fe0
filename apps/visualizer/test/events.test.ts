/* describeEvent (src/events.ts): each kind of event as its trace line and the call it stands for. */
import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, parseTrace, type Trace } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { describeEvent } from "../src/events.ts";
import { compileallPrefix, traceOf } from "./helpers.ts";

describe("describeEvent", () => {
  const trace = traceOf(["a 17 32", "c 18 4 8", "r 17 19 100", "f 18", "m 20 64 256", "a 0 3000000000", "r 19 19 0", "c 21 0 16"]);

  // events are numbered from 1
  it.each([
    [1, "a 17 32  malloc(32) -> #17"],
    [2, "c 18 4 8  calloc(4, 8) -> #18"],
    [3, "r 17 19 100  realloc(#17, 100) -> #19"],
    [4, "f 18  free(#18)"],
    [5, "m 20 64 256  posix_memalign(64, 256) -> #20"],
    [6, "a 0 3000000000  malloc(3000000000) -> #0"],
    [7, "r 19 19 0  realloc(#19, 0) -> #19"],
    [8, "c 21 0 16  calloc(0, 16) -> #21"],
  ])("event %d: %s", (event, text) => {
    expect(describeEvent(trace, event)).toBe(text);
  });

  it.each([-1, 0, 9, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5])("%d is no event: empty text", (event) => {
    expect(describeEvent(trace, event)).toBe("");
  });

  it("an unknown op: empty text", () => {
    const odd: Trace = { ...trace, op: Uint8Array.from([OP_MALLOC, 9, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN, 5, 255]) };
    expect(describeEvent(odd, 2)).toBe("");
    expect(describeEvent(odd, 7)).toBe("");
    expect(describeEvent(odd, 8)).toBe("");
    expect(describeEvent(odd, 1)).toBe("a 17 32  malloc(32) -> #17");
  });

  it("the line part of every description parses back to the same events (5,000 of py_compileall)", () => {
    const real = compileallPrefix(20_000);
    const n = 5_000;
    const lines: string[] = [];
    for (let event = 1; event <= n; event++) {
      const text = describeEvent(real, event);
      const [line, call] = text.split("  ");
      expect(call, text).toMatch(/^(malloc|calloc|realloc|free|posix_memalign)\(/);
      lines.push(line!);
    }
    const back = parseTrace(new TextEncoder().encode(lines.join("\n")), "back");
    expect(back.length).toBe(n);
    expect(Array.from(back.op)).toEqual(Array.from(real.op.subarray(0, n)));
    expect(Array.from(back.id)).toEqual(Array.from(real.id.subarray(0, n)));
    expect(Array.from(back.arg)).toEqual(Array.from(real.arg.subarray(0, n)));
    expect(Array.from(back.size)).toEqual(Array.from(real.size.subarray(0, n)));
  });
});
