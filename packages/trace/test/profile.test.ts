import { readFileSync } from "node:fs";
import { type BundledTrace, bundledTraceMeta, bundledTracePath, loadTrace, parseTrace, traceProfile } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

// live bytes / live blocks after each event in the comments
const trace = parseTrace(
  text(
    [
      "a 0 100", //   0: 100 / 1
      "c 1 3 10", //  1: 130 / 2  (calloc asks 3 × 10)
      "a 2 0", //     2: 130 / 3  (a zero-size block still counts as a block)
      "r 0 3 250", // 3: 280 / 3  (realloc replaces block 0's 100 bytes): the peak, first reached
      "f 1", //       4: 250 / 2
      "a 4 10", //    5: 260 / 3
      "a 5 20", //    6: 280 / 4  the peak again, with more blocks
      "f 3", //       7:  30 / 3
      "m 6 64 16", // 8:  46 / 4
      "a 7 8", //     9:  54 / 5  the most blocks
      "f 7", //      10:  46 / 4
    ].join("\n"),
  ),
  "hand",
);

describe("traceProfile", () => {
  it("works out every figure of a hand-written trace", () => {
    expect(traceProfile(trace)).toEqual({
      events: 11,
      mallocs: 5,
      callocs: 1,
      reallocs: 1,
      frees: 3,
      memaligns: 1,
      peakLiveBytes: 280,
      peakEvent: 3,
      blocksAtPeak: 3,
      peakLiveBlocks: 5,
      liveAtEndBlocks: 4,
      liveAtEndBytes: 46,
      requestedBytes: 100 + 30 + 0 + 250 + 10 + 20 + 16 + 8,
    });
  });

  it("writes the live-bytes curve when given room for it, and refuses too little", () => {
    const curve = new Float64Array(12).fill(-1);
    expect(traceProfile(trace, trace.length, curve)).toEqual(traceProfile(trace));
    expect([...curve]).toEqual([0, 100, 130, 130, 280, 250, 260, 280, 30, 46, 54, 46]);
    const short = new Float64Array(5).fill(-1);
    traceProfile(trace, 4, short);
    expect([...short]).toEqual([0, 100, 130, 130, 280]);
    const small = new Float64Array(11).fill(-1);
    expect(() => traceProfile(trace, trace.length, small)).toThrow(new RangeError("traceProfile: curve has 11 entries, 12 needed"));
    expect(small.every((value) => value === -1)).toBe(true);
  });

  it("looks at the first `limit` events only", () => {
    expect(traceProfile(trace, 3)).toEqual({
      events: 3,
      mallocs: 2,
      callocs: 1,
      reallocs: 0,
      frees: 0,
      memaligns: 0,
      peakLiveBytes: 130,
      peakEvent: 1, // event 2 (0 bytes) keeps the live bytes at 130: the first event is reported
      blocksAtPeak: 2,
      peakLiveBlocks: 3,
      liveAtEndBlocks: 3,
      liveAtEndBytes: 130,
      requestedBytes: 130,
    });
    expect(traceProfile(trace, 8)).toMatchObject({ events: 8, peakLiveBytes: 280, peakEvent: 3, liveAtEndBlocks: 3, liveAtEndBytes: 30, frees: 2 });
    expect(traceProfile(trace, 1000)).toEqual(traceProfile(trace));
    expect(traceProfile(trace, 0)).toMatchObject({ events: 0, peakEvent: -1, peakLiveBytes: 0, mallocs: 0 });
    expect(traceProfile(trace, -5)).toEqual(traceProfile(trace, 0));
  });

  it("reports peakEvent -1 and zeros for an empty trace", () => {
    expect(traceProfile(parseTrace(new Uint8Array(0), "empty"))).toEqual({
      events: 0,
      mallocs: 0,
      callocs: 0,
      reallocs: 0,
      frees: 0,
      memaligns: 0,
      peakLiveBytes: 0,
      peakEvent: -1,
      blocksAtPeak: 0,
      peakLiveBlocks: 0,
      liveAtEndBlocks: 0,
      liveAtEndBytes: 0,
      requestedBytes: 0,
    });
  });

  it("puts the peak of a trace of zero-size blocks at event 0, with the blocks live after it", () => {
    expect(traceProfile(parseTrace(text("a 0 0\na 1 0\nf 0\n"), "zeros"))).toMatchObject({
      peakLiveBytes: 0,
      peakEvent: 0,
      blocksAtPeak: 1,
      peakLiveBlocks: 2,
      liveAtEndBlocks: 1,
    });
  });

  for (const name of ["py_compileall", "gcc_cc1_wrapt"] as const satisfies readonly BundledTrace[]) {
    it(`agrees with the .meta.json of ${name}`, () => {
      const meta = bundledTraceMeta(name);
      const json = JSON.parse(readFileSync(bundledTracePath(name).replace(/\.trace\.gz$/, ".meta.json"), "utf8")) as Record<string, unknown>;
      const bundled = loadTrace(bundledTracePath(name));
      const profile = traceProfile(bundled);
      expect(profile).toMatchObject({
        events: meta.events,
        mallocs: meta.count.a,
        callocs: meta.count.c,
        reallocs: meta.count.r,
        frees: meta.count.f,
        memaligns: meta.count.m,
        peakLiveBytes: meta.peak_live_bytes,
        peakLiveBlocks: meta.peak_live_blocks,
        liveAtEndBlocks: json.live_at_end_blocks,
        liveAtEndBytes: json.live_at_end_bytes,
        requestedBytes: json.total_bytes_requested,
      });
      expect(typeof json.total_bytes_requested).toBe("number");
      // the peak is reached at peakEvent and not before it
      expect(profile.peakEvent).toBeGreaterThan(0);
      expect(traceProfile(bundled, profile.peakEvent + 1).peakLiveBytes).toBe(meta.peak_live_bytes);
      expect(traceProfile(bundled, profile.peakEvent).peakLiveBytes).toBeLessThan(meta.peak_live_bytes);
      expect(traceProfile(bundled, profile.peakEvent + 1).liveAtEndBlocks).toBe(profile.blocksAtPeak);
    });
  }
});
