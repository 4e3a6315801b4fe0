import { type BundledTrace, bundledTraceMeta, bundledTracePath } from "@tsmalloc/bundled-traces";
import { isTraceError, loadTrace, parseTrace, SIZE_BUCKETS, TimedReplay, TraceErrorCode, type TraceProfile, traceProfile } from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";
import { text, thrown } from "./helpers.ts";


// live bytes / live blocks after each event (numbered from 1) in the comments
const trace = parseTrace(
  text(
    [
      "a 0 100", //    1: 100 / 1
      "c 1 3 10", //   2: 130 / 2  (calloc asks 3 × 10)
      "a 2 0", //      3: 130 / 3  (a zero-size block still counts as a block)
      "r 0 3 250", //  4: 280 / 3  (realloc replaces block 0's 100 bytes): the peak, first reached
      "f 1", //        5: 250 / 2
      "a 4 10", //     6: 260 / 3
      "a 5 20", //     7: 280 / 4  the peak again, with more blocks
      "f 3", //        8:  30 / 3
      "m 6 64 16", //  9:  46 / 4
      "a 7 8", //     10:  54 / 5  the most blocks
      "f 7", //       11:  46 / 4
    ].join("\n"),
  ),
  "hand",
);

/** The counts of the histogram's bars, by label, leaving out the empty ones. */
function bars(profile: TraceProfile): Record<string, number> {
  return Object.fromEntries(profile.sizeHistogram.filter((bar) => bar.count > 0).map((bar) => [bar.label, bar.count]));
}


describe("traceProfile", () => {
  it("works out every figure of a hand-written trace", () => {
    const profile = traceProfile(trace);
    expect({ ...profile, sizeHistogram: bars(profile) }).toEqual({
      events: 11,
      mallocs: 5,
      callocs: 1,
      reallocs: 1,
      frees: 3,
      memaligns: 1,
      requests: 8,
      requestedBytes: 100 + 30 + 0 + 250 + 10 + 20 + 16 + 8,
      peakLiveBytes: 280,
      peakEvent: 4,
      blocksAtPeak: 3,
      peakLiveBlocks: 5,
      liveAtEndBlocks: 4,
      liveAtEndBytes: 46,
      failures: 0,
      sizeHistogram: { "0": 1, "1-16": 3, "17-32": 2, "65-128": 1, "129-256": 1 },
    });
  });

  it("has the bars of the bundled traces' statistics, each starting after the one before", () => {
    expect(traceProfile(trace).sizeHistogram.map(({ label, min, max }) => [label, min, max])).toEqual([
      ["0", 0, 0],
      ["1-16", 1, 16],
      ["17-32", 17, 32],
      ["33-64", 33, 64],
      ["65-128", 65, 128],
      ["129-256", 129, 256],
      ["257-512", 257, 512],
      ["513-4K", 513, 4096],
      ["4K-64K", 4097, 65_536],
      ["64K-1M", 65_537, 1 << 20],
      [">1M", (1 << 20) + 1, Infinity],
    ]);
    expect(SIZE_BUCKETS.length).toBe(11);
    const edges = parseTrace(text("a 0 16\na 1 17\na 2 4096\na 3 4097\na 4 1048576\na 5 1048577\n"), "edges");
    expect(bars(traceProfile(edges))).toEqual({ "1-16": 1, "17-32": 1, "513-4K": 1, "4K-64K": 1, "64K-1M": 1, ">1M": 1 });
  });

  it("writes the live-bytes curve when given room for it, and refuses too little", () => {
    const curve = new Float64Array(12).fill(-1);
    expect(traceProfile(trace, { curve })).toEqual(traceProfile(trace));
    expect([...curve]).toEqual([0, 100, 130, 130, 280, 250, 260, 280, 30, 46, 54, 46]);
    const short = new Float64Array(5).fill(-1);
    traceProfile(trace, { limit: 4, curve: short });
    expect([...short]).toEqual([0, 100, 130, 130, 280]);
    const small = new Float64Array(11).fill(-1);
    const error = thrown(() => traceProfile(trace, { curve: small }));
    expect(isTraceError(error, TraceErrorCode.InvalidArgument)).toBe(true);
    expect((error as Error).message).toBe("traceProfile: curve has 11 entries, 12 needed");
    expect(small.every((value) => value === -1)).toBe(true);
  });

  it("looks at the first `limit` events only", () => {
    expect(traceProfile(trace, { limit: 3 })).toMatchObject({
      events: 3,
      mallocs: 2,
      callocs: 1,
      reallocs: 0,
      frees: 0,
      memaligns: 0,
      peakLiveBytes: 130,
      peakEvent: 2, // event 3 (0 bytes) keeps the live bytes at 130: the first event is reported
      blocksAtPeak: 2,
      peakLiveBlocks: 3,
      liveAtEndBlocks: 3,
      liveAtEndBytes: 130,
      requestedBytes: 130,
    });
    expect(traceProfile(trace, { limit: 8 })).toMatchObject({ events: 8, peakLiveBytes: 280, peakEvent: 4, liveAtEndBlocks: 3, liveAtEndBytes: 30, frees: 2 });
    expect(traceProfile(trace, { limit: 1000 })).toEqual(traceProfile(trace));
    expect(traceProfile(trace, { limit: 0 })).toMatchObject({ events: 0, peakEvent: 0, peakLiveBytes: 0, mallocs: 0 });
    for (const limit of [-5, NaN]) expect(isTraceError(thrown(() => traceProfile(trace, { limit })), TraceErrorCode.InvalidArgument)).toBe(true);
  });

  it("reports peakEvent 0 and zeros for an empty trace", () => {
    const profile = traceProfile(parseTrace(new Uint8Array(0), "empty"));
    expect({ ...profile, sizeHistogram: bars(profile) }).toEqual({
      events: 0,
      mallocs: 0,
      callocs: 0,
      reallocs: 0,
      frees: 0,
      memaligns: 0,
      requests: 0,
      requestedBytes: 0,
      peakLiveBytes: 0,
      peakEvent: 0,
      blocksAtPeak: 0,
      peakLiveBlocks: 0,
      liveAtEndBlocks: 0,
      liveAtEndBytes: 0,
      failures: 0,
      sizeHistogram: {},
    });
  });

  it("puts the peak of a trace of zero-size blocks after event 1, with the blocks live after it", () => {
    expect(traceProfile(parseTrace(text("a 0 0\na 1 0\nf 0\n"), "zeros"))).toMatchObject({
      peakLiveBytes: 0,
      peakEvent: 1,
      blocksAtPeak: 1,
      peakLiveBlocks: 2,
      liveAtEndBlocks: 1,
    });
  });

  describe("with the requests a replay's allocator refused (`failed`)", () => {
    it("never counts a refused block as live (issue 16: a NULL return counted as a live block)", () => {
      const big = parseTrace(text("a 1 3000000000\n"), "big");
      expect(traceProfile(big)).toMatchObject({ peakLiveBytes: 3_000_000_000, liveAtEndBlocks: 1 });
      expect(traceProfile(big, { failed: [1] })).toMatchObject({
        peakLiveBytes: 0,
        peakEvent: 1,
        blocksAtPeak: 0,
        peakLiveBlocks: 0,
        liveAtEndBlocks: 0,
        liveAtEndBytes: 0,
        failures: 1,
        requests: 1,
        requestedBytes: 3_000_000_000,
      });
    });

    it("follows the replay's rules: a refused block's free is nothing, its realloc a new request, a refused realloc keeps the old block", () => {
      // live bytes / blocks after each event, with events 2, 6 and 8 refused
      const mixed = parseTrace(
        text(
          [
            "a 0 100", //   1: 100 / 1
            "a 1 999", //   2: refused: 100 / 1
            "f 1", //       3: nothing to free: 100 / 1
            "a 2 999", //   4: 1099 / 2
            "r 2 3 50", //  5: 150 / 2
            "r 3 4 5000", // 6: refused: block 3 goes on as block 4, 50 bytes: 150 / 2
            "f 4", //       7: 100 / 1
            "a 5 999", //   8: refused: 100 / 1
            "r 5 6 20", //  9: a new request of 20: 120 / 2
          ].join("\n"),
        ),
        "mixed",
      );
      const curve = new Float64Array(10);
      expect(traceProfile(mixed, { failed: [2, 6, 8], curve })).toMatchObject({ peakLiveBytes: 1099, peakEvent: 4, peakLiveBlocks: 2, liveAtEndBlocks: 2, liveAtEndBytes: 120, failures: 3 });
      expect([...curve]).toEqual([0, 100, 100, 100, 1099, 150, 150, 100, 100, 120]);
    });

    it("agrees with what a timed replay held, on a trace whose large requests an allocator refuses", () => {
      const input = Array.from({ length: 200 }, (_, i) => (i % 3 === 2 ? `f ${i - 1}` : `a ${i} ${(i * 997) % 5000}`)).join("\n");
      const sample = parseTrace(text(input), "sample");
      // hands out addresses and keeps account; refuses anything over 4000 bytes
      const held = new Map<number, number>();
      let next = 16;
      const refusing = {
        malloc: (size: number): number => {
          if (size > 4000) return 0;
          held.set(next, size);
          return (next += 16) - 16;
        },
        calloc: (): number => 0,
        realloc: (): number => 0,
        free: (p: number): void => void held.delete(p),
      };
      const replay = new TimedReplay(sample, refusing);
      replay.run();
      expect(replay.failures).toBeGreaterThan(10);
      const profile = traceProfile(sample, { failed: replay.failedEvents });
      expect(profile.liveAtEndBlocks).toBe(held.size);
      expect(profile.liveAtEndBytes).toBe([...held.values()].reduce((sum, n) => sum + n, 0));
      expect(profile.failures).toBe(replay.failures);
    });

    it("refuses failed events that are not ascending request events within the limit", () => {
      for (const failed of [[2, 1], [1, 1], [0], [12], [5], [1.5], [NaN]]) {
        expect(isTraceError(thrown(() => traceProfile(trace, { failed })), TraceErrorCode.InvalidArgument), JSON.stringify(failed)).toBe(true);
      }
      expect(isTraceError(thrown(() => traceProfile(trace, { limit: 3, failed: [4] })), TraceErrorCode.InvalidArgument)).toBe(true);
      expect(traceProfile(trace, { failed: [] })).toEqual(traceProfile(trace));
    });
  });

  for (const name of ["py_compileall", "gcc_cc1_wrapt"] as const satisfies readonly BundledTrace[]) {
    it(`agrees with the .meta.json of ${name}`, () => {
      const meta = bundledTraceMeta(name);
      const bundled = loadTrace(bundledTracePath(name));
      const profile = traceProfile(bundled);
      expect(profile).toMatchObject({
        events: meta.events,
        mallocs: meta.count.a,
        callocs: meta.count.c,
        reallocs: meta.count.r,
        frees: meta.count.f,
        memaligns: meta.count.m,
        requests: meta.requests,
        peakLiveBytes: meta.peak_live_bytes,
        peakLiveBlocks: meta.peak_live_blocks,
        liveAtEndBlocks: meta.live_at_end_blocks,
        liveAtEndBytes: meta.live_at_end_bytes,
        requestedBytes: meta.total_bytes_requested,
      });
      expect(Object.fromEntries(profile.sizeHistogram.map((bar) => [bar.label, bar.count]))).toEqual(meta.size_hist);
      // the peak is reached after peakEvent and not before it
      expect(profile.peakEvent).toBeGreaterThan(1);
      expect(traceProfile(bundled, { limit: profile.peakEvent }).peakLiveBytes).toBe(meta.peak_live_bytes);
      expect(traceProfile(bundled, { limit: profile.peakEvent - 1 }).peakLiveBytes).toBeLessThan(meta.peak_live_bytes);
      expect(traceProfile(bundled, { limit: profile.peakEvent }).liveAtEndBlocks).toBe(profile.blocksAtPeak);
    });
  }
});
