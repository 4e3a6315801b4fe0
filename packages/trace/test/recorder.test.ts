import { isTraceError, parseTrace, type RecorderCounts, TraceErrorCode, TraceRecorder, TraceWriter } from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";
import { thrown } from "./helpers.ts";

/** A recorder into a string, and what it wrote so far. */
function recording(options = {}): { recorder: TraceRecorder; written: () => string } {
  let text = "";
  const writer = new TraceWriter((chunk) => (text += chunk));
  return {
    recorder: new TraceRecorder(writer, options),
    written: () => {
      writer.flush();
      return text;
    },
  };
}

const NO_COUNTS: RecorderCounts = { events: 0, nullReturns: 0, freeNull: 0, unknownFrees: 0, reallocNull: 0, unknownReallocs: 0, reusedAddresses: 0, reallocZeroFrees: 0 };


describe("TraceRecorder", () => {
  it("names blocks by id in order of first allocation, a new id for every realloc", () => {
    const { recorder, written } = recording();
    recorder.malloc(100, 0x1000);
    recorder.calloc(4, 8, 0x2000);
    recorder.realloc(0x1000, 200, 0x1000); // in place: still a new id
    recorder.memalign(64, 10, 0x3000);
    recorder.free(0x2000);
    recorder.realloc(0x1000, 50, 0x4000);
    recorder.free(0x4000);
    expect(written()).toBe("a 0 100\nc 1 4 8\nr 0 2 200\nm 3 64 10\nf 1\nr 2 4 50\nf 4\n");
    expect(recorder.counts).toEqual({ ...NO_COUNTS, events: 7 });
    expect(recorder.liveBlocks).toBe(1);
  });

  it("applies the format's normalisations, and counts each by reason", () => {
    const { recorder, written } = recording();
    recorder.free(0); // free(NULL): nothing
    recorder.realloc(0, 16, 0x1000); // realloc(NULL, 16): a
    recorder.free(0x9000); // a block from before the recording: nothing
    recorder.realloc(0x8000, 32, 0x2000); // the same: a of the new block
    recorder.malloc(3_000_000_000, 0); // NULL: a comment
    recorder.calloc(1, 2, 0);
    recorder.realloc(0x1000, 5000, 0); // a failed realloc: the block stays
    recorder.memalign(64, 8, 0);
    recorder.malloc(8, 0x2000); // 0x2000 is still live here: freed where the recorder did not see
    recorder.free(0x1000);
    expect(written()).toBe(
      [
        "a 0 16",
        "a 1 32",
        "# malloc(3000000000) returned NULL",
        "# calloc(1, 2) returned NULL",
        "# realloc(0x1000, 5000) returned NULL",
        "# memalign(64, 8) returned NULL",
        "f 1",
        "a 2 8",
        "f 0",
        "",
      ].join("\n"),
    );
    expect(recorder.counts).toEqual({ events: 5, nullReturns: 4, freeNull: 1, unknownFrees: 1, reallocNull: 1, unknownReallocs: 1, reusedAddresses: 1, reallocZeroFrees: 0 });
    expect(parseTrace(new TextEncoder().encode(written()), "r").length).toBe(5);
  });

  it("takes realloc(p, 0) returning NULL as a failure, or as a free with reallocZeroFrees", () => {
    const kept = recording();
    kept.recorder.malloc(8, 0x100);
    kept.recorder.realloc(0x100, 0, 0);
    kept.recorder.free(0x100);
    expect(kept.written()).toBe("a 0 8\n# realloc(0x100, 0) returned NULL\nf 0\n");
    const freed = recording({ reallocZeroFrees: true });
    freed.recorder.malloc(8, 0x100);
    freed.recorder.realloc(0x100, 0, 0);
    freed.recorder.free(0x100);
    expect(freed.written()).toBe("a 0 8\nf 0\n");
    expect(freed.recorder.counts).toMatchObject({ events: 2, reallocZeroFrees: 1, unknownFrees: 1, nullReturns: 0 });
    // a realloc(p, 0) that gives a block is a resize like any other
    const resized = recording({ reallocZeroFrees: true });
    resized.recorder.malloc(8, 0x100);
    resized.recorder.realloc(0x100, 0, 0x200);
    expect(resized.written()).toBe("a 0 8\nr 0 1 0\n");
  });

  it("writes calloc(huge, 0) with the counts swapped (NMEMB is kept in 32 bits), the product the same", () => {
    const { recorder, written } = recording();
    recorder.calloc(2 ** 40, 0, 0x100);
    expect(written()).toBe("c 0 0 1099511627776\n");
    expect(isTraceError(thrown(() => recorder.calloc(2 ** 40, 2 ** 40, 0x200)), TraceErrorCode.InvalidArgument)).toBe(true);
  });

  it("refuses numbers that no call can have taken or given, and records nothing of them", () => {
    const { recorder, written } = recording();
    for (const bad of [
      () => recorder.malloc(-1, 0x10),
      () => recorder.malloc(1.5, 0x10),
      () => recorder.malloc(8, -16),
      () => recorder.malloc(8, NaN),
      () => recorder.calloc(1, "2" as never, 0x10),
      () => recorder.realloc(0.5, 8, 0x10),
      () => recorder.free(-1),
      () => recorder.memalign(3, 8, 0x10),
      () => recorder.memalign(2 ** 32, 8, 0x10),
    ]) {
      expect(isTraceError(thrown(bad), TraceErrorCode.InvalidArgument)).toBe(true);
    }
    expect(written()).toBe("");
    expect(recorder.counts).toEqual(NO_COUNTS);
  });

  it("refuses a sink without the TraceSink methods, and bad options", () => {
    expect(isTraceError(thrown(() => new TraceRecorder({} as never)), TraceErrorCode.InvalidArgument)).toBe(true);
    const writer = new TraceWriter(() => undefined);
    expect(isTraceError(thrown(() => new TraceRecorder(writer, { reallocZeroFrees: 1 as never })), TraceErrorCode.InvalidArgument)).toBe(true);
    expect(isTraceError(thrown(() => new TraceRecorder(writer, null as never)), TraceErrorCode.InvalidArgument)).toBe(true);
  });
});
