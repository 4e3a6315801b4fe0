import {
  findMismatch,
  isTraceError,
  parseTrace,
  patternByte,
  ReplayMismatch,
  type ReplayTarget,
  replayVerified,
  TimedReplay,
  TraceErrorCode,
  traceProfile,
} from "@tsmalloc/trace";
import { describe, expect, it } from "vitest";
import { text, thrown } from "./helpers.ts";

/** A bump allocator over a plain buffer; `overlap` makes it hand out overlapping blocks. */
class Bump implements ReplayTarget {
  readonly memory = { u8: new Uint8Array(1 << 20) };
  #top = 16;
  readonly #overlap: boolean;
  readonly #step: number;
  freed = 0;
  /** `step`: the granule of block sizes and so the alignment of the blocks (16 unless given). */
  constructor(overlap = false, step = 16) {
    this.#overlap = overlap;
    this.#step = step;
  }
  malloc(size: number): number {
    const p = this.#top;
    this.#top += this.#overlap ? this.#step : Math.ceil(Math.max(size, 1) / this.#step) * this.#step;
    return p;
  }
  calloc(nelem: number, elsize: number): number {
    const p = this.malloc(nelem * elsize);
    this.memory.u8.fill(0, p, p + nelem * elsize);
    return p;
  }
  realloc(p: number, size: number): number {
    const q = this.malloc(size);
    this.memory.u8.copyWithin(q, p, p + size);
    return q;
  }
  free(): void {
    this.freed++;
  }
}

const trace = parseTrace(text("a 0 40\nc 1 3 8\nr 0 2 100\na 3 16\nf 1\nf 2\n"), "t");


describe("replayVerified", () => {
  it("replays a trace through a correct allocator and reports its peak", () => {
    const bump = new Bump();
    const result = replayVerified(trace, bump, { release: true });
    expect(result).toEqual({ events: 6, peakLiveBytes: 40 + 24 + 100 - 40 + 16, peakLiveBlocks: 3, peakFootprint: 0, failures: 0, failedEvents: [], liveBlocks: 1, liveBytes: 16 });
    expect(bump.freed).toBe(3);
  });

  it("catches an allocator that hands out overlapping blocks, with the event number (from 1)", () => {
    const error = thrown(() => replayVerified(trace, new Bump(true)));
    expect(error).toBeInstanceOf(ReplayMismatch);
    expect(error).toMatchObject({ event: 3, atEnd: false, code: TraceErrorCode.ReplayMismatch });
    expect((error as ReplayMismatch).message).toMatch(/^event 3: block 0 at 0x10 \(40 bytes\) was overwritten at \+16: 0x02 instead of 0x01$/);
  });

  it("reports damage found after the last event as such", () => {
    const bump = new Bump();
    const damaged = { ...bump, memory: bump.memory, malloc: (size: number) => bump.malloc(size), calloc: (n: number, s: number) => bump.calloc(n, s), realloc: (p: number, s: number) => bump.realloc(p, s), free: () => (bump.memory.u8[16 + 200] = 0) };
    // block 3 (16 bytes, allocated at event 4) is overwritten by the frees that follow
    const error = thrown(() => replayVerified(trace, damaged));
    expect(error).toMatchObject({ event: 6, atEnd: true });
    expect((error as ReplayMismatch).message).toMatch(/^after event 6 \(the end of the replay\): block 3 at 0xd0/);
  });

  it("requires 16-byte alignment unless told another", () => {
    expect(() => replayVerified(trace, new Bump(false, 8))).toThrow(/^event 2: block 1 at 0x38 is not 16-byte aligned$/);
    expect(replayVerified(trace, new Bump(false, 8), { alignment: 8 }).failures).toBe(0);
  });

  it("calls the checkpoint after every N events, with the number of events applied, and at the end", () => {
    const seen: number[] = [];
    replayVerified(trace, new Bump(), { every: 4, checkpoint: (e) => seen.push(e) });
    expect(seen).toEqual([4, 6]);
    const four: number[] = [];
    replayVerified(trace, new Bump(), { every: 4, checkpoint: (e) => four.push(e), limit: 5 });
    expect(four).toEqual([4, 5]);
  });

  it("calls the checkpoint once for the last event when N divides the events replayed, after the last checks", () => {
    const seen: Array<[number, number]> = [];
    const bump = new Bump();
    replayVerified(trace, bump, { every: 2, checkpoint: (e) => seen.push([e, bump.freed]), release: true });
    // after events 2 and 4; after event 6 once, when the block still live has been freed too
    expect(seen).toEqual([
      [2, 0],
      [4, 0],
      [6, 3],
    ]);
    const limited: number[] = [];
    replayVerified(trace, new Bump(), { every: 2, checkpoint: (e) => limited.push(e), limit: 4 });
    expect(limited).toEqual([2, 4]);
    const every: number[] = [];
    replayVerified(trace, new Bump(), { every: 1, checkpoint: (e) => every.push(e) });
    expect(every).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("lists the events whose request returned NULL, and counts only the blocks it got", () => {
    const bump = new Bump();
    const refusing: ReplayTarget = { memory: bump.memory, malloc: (size) => (size === 100 ? 0 : bump.malloc(size)), calloc: (n, s) => bump.calloc(n, s), realloc: (p, s) => (s === 100 ? 0 : bump.realloc(p, s)), free: () => undefined };
    // event 3 (r 0 2 100) is refused: block 0 goes on as block 2, 40 bytes
    const result = replayVerified(trace, refusing);
    expect(result).toMatchObject({ failures: 1, failedEvents: [3], peakLiveBytes: 40 + 24 + 16, liveBlocks: 1, liveBytes: 16 });
    expect(traceProfile(trace, { failed: result.failedEvents })).toMatchObject({ peakLiveBytes: result.peakLiveBytes, liveAtEndBlocks: 1, liveAtEndBytes: 16 });
  });

  it("refuses a target without memory, or that is no allocator", () => {
    const { malloc, calloc, realloc, free } = new Bump();
    expect(isTraceError(thrown(() => replayVerified(trace, { malloc, calloc, realloc, free })), TraceErrorCode.InvalidArgument)).toBe(true);
    expect(isTraceError(thrown(() => replayVerified(trace, {} as ReplayTarget)), TraceErrorCode.InvalidArgument)).toBe(true);
    expect(isTraceError(thrown(() => replayVerified(trace, new Bump(), { limit: -1 })), TraceErrorCode.InvalidArgument)).toBe(true);
  });
});

/** Records every call; hands out increasing addresses, and 0 for a request of 999 bytes. */
class Recorder implements ReplayTarget {
  readonly calls: string[] = [];
  #next = 16;
  #give(size: number): number {
    if (size === 999) return 0;
    return (this.#next += 16);
  }
  malloc(size: number): number {
    const p = this.#give(size);
    this.calls.push(`malloc(${size}) = ${p}`);
    return p;
  }
  calloc(nelem: number, elsize: number): number {
    const p = this.#give(nelem * elsize);
    this.calls.push(`calloc(${nelem}, ${elsize}) = ${p}`);
    return p;
  }
  realloc(p: number, size: number): number {
    const q = this.#give(size);
    this.calls.push(`realloc(${p}, ${size}) = ${q}`);
    return q;
  }
  memalign(alignment: number, size: number): number {
    const p = this.#give(size);
    this.calls.push(`memalign(${alignment}, ${size}) = ${p}`);
    return p;
  }
  free(p: number): void {
    this.calls.push(`free(${p})`);
  }
}

// every kind, a failed malloc whose block is then realloc'd (a malloc) and one that is freed (no call)
const everyKind = parseTrace(text("a 0 16\na 1 999\nc 2 4 8\nr 0 3 32\nr 1 4 24\nm 5 64 10\nf 2\nf 3\na 6 999\nf 6\nf 4\nr 5 7 999\nf 7\n"), "every kind");

/** `target`'s calls, where call number `nth` (1-based) throws `error`. */
function throwingOn<T extends ReplayTarget>(target: T, nth: number, error: unknown): T & { calls: number } {
  const counted = Object.create(target) as T & { calls: number };
  counted.calls = 0;
  const hit = (): void => {
    if (++counted.calls === nth) throw error;
  };
  counted.malloc = (size) => (hit(), target.malloc(size));
  counted.calloc = (nelem, elsize) => (hit(), target.calloc(nelem, elsize));
  counted.realloc = (p, size) => (hit(), target.realloc(p, size));
  counted.free = (p) => (hit(), target.free(p));
  return counted;
}

/** Checks that `error` is the ReplayMismatch for `cause` thrown at `event`. */
function expectThrownAt(error: unknown, event: number, cause: unknown, what: string, atEnd: boolean = false): void {
  expect(error).toBeInstanceOf(ReplayMismatch);
  const mismatch = error as ReplayMismatch;
  expect(mismatch.event).toBe(event);
  expect(mismatch.atEnd).toBe(atEnd);
  expect(mismatch.reason.startsWith("the allocator threw ")).toBe(true);
  expect(mismatch.reason).toContain(what);
  expect(mismatch.message).toBe(`${atEnd ? `after event ${event} (the end of the replay)` : `event ${event}`}: ${mismatch.reason}`);
  expect(mismatch.cause).toBe(cause);
}

describe("TimedReplay", () => {
  const one = new Recorder();
  const reference = new TimedReplay(everyKind, one);
  const failures = reference.run();

  it("makes the calls the trace asks for, and lists the events whose request returned NULL", () => {
    expect(failures).toBe(3);
    expect(reference.failures).toBe(3);
    expect(reference.failedEvents).toEqual([2, 9, 12]);
    expect(reference.applied).toBe(everyKind.length);
    expect(one.calls).toEqual([
      "malloc(16) = 32",
      "malloc(999) = 0",
      "calloc(4, 8) = 48",
      "realloc(32, 32) = 64",
      "malloc(24) = 80",
      "memalign(64, 10) = 96",
      "free(48)",
      "free(64)",
      "malloc(999) = 0",
      "free(80)",
      "realloc(96, 999) = 0",
      "free(96)",
    ]);
  });

  it("makes the same calls run(k) then run(), for every k", () => {
    for (let k = 0; k <= everyKind.length; k++) {
      const pieces = new Recorder();
      const replay = new TimedReplay(everyKind, pieces);
      const first = replay.run(k);
      expect(replay.applied).toBe(k);
      const second = replay.run();
      expect(pieces.calls, `cut at ${k}`).toEqual(one.calls);
      expect(first + second, `cut at ${k}`).toBe(failures);
      expect(replay.failedEvents).toEqual([2, 9, 12]);
    }
  });

  it("applies nothing for an event at or before the one it stands after", () => {
    const recorder = new Recorder();
    const replay = new TimedReplay(everyKind, recorder);
    replay.run(5);
    const before = recorder.calls.length;
    expect(replay.run(3)).toBe(0);
    expect(replay.run(5)).toBe(0);
    expect(recorder.calls.length).toBe(before);
    expect(replay.applied).toBe(5);
  });

  it("knows each live block's address", () => {
    const replay = new TimedReplay(everyKind, new Recorder());
    replay.run(4);
    expect([0, 1, 2, 3].map((id) => replay.addressOf(id))).toEqual([0, 0, 48, 64]);
    for (const id of [-1, 1.5, NaN, 100]) expect(replay.addressOf(id)).toBe(0);
  });

  it("refuses a bad `until` and a target that is no allocator", () => {
    const replay = new TimedReplay(everyKind, new Recorder());
    for (const until of [-1, 1.5, NaN, everyKind.length + 1]) expect(isTraceError(thrown(() => replay.run(until)), TraceErrorCode.InvalidArgument), String(until)).toBe(true);
    expect(isTraceError(thrown(() => new TimedReplay(everyKind, { malloc: () => 0 } as unknown as ReplayTarget)), TraceErrorCode.InvalidArgument)).toBe(true);
  });

  it("reports an m event for a target without memalign as a mismatch at that event", () => {
    const bump = new Bump();
    const replay = new TimedReplay(everyKind, { malloc: (n) => bump.malloc(n), calloc: (k, n) => bump.calloc(k, n), realloc: (p, n) => bump.realloc(p, n), free: () => bump.free() });
    expect(thrown(() => replay.run())).toMatchObject({ event: 6, reason: "an m event, and the target has no memalign" });
    expect(replay.applied).toBe(5);
  });
});

describe("an allocator that throws", () => {
  // trace: a, c, r, a, f, f: call N is event N
  for (let nth = 1; nth <= 6; nth++) {
    it(`is reported as a ReplayMismatch at event ${nth} by TimedReplay and replayVerified`, () => {
      const error = new RangeError(`boom on call ${nth}`);
      const timed = throwingOn(new Bump(), nth, error);
      const replay = new TimedReplay(trace, timed);
      expectThrownAt(thrown(() => replay.run()), nth, error, `RangeError: boom on call ${nth}`);
      expect(timed.calls).toBe(nth);
      expect(replay.applied).toBe(nth - 1);
      const verified = throwingOn(new Bump(), nth, error);
      expectThrownAt(thrown(() => replayVerified(trace, verified)), nth, error, `RangeError: boom on call ${nth}`);
      expect(verified.calls).toBe(nth);
    });
  }

  it("keeps the event of the piece a cut replay is in", () => {
    const error = new Error("late");
    const target = throwingOn(new Bump(), 5, error);
    const replay = new TimedReplay(trace, target);
    replay.run(3);
    expectThrownAt(thrown(() => replay.run()), 5, error, "Error: late");
  });

  it("reports a throw while releasing the blocks live at the end as after the last event", () => {
    // trace: a, c, r, a, f, f; one block is live at the end, so call 7 is its release
    const error = new Error("release");
    expectThrownAt(thrown(() => replayVerified(trace, throwingOn(new Bump(), 7, error), { release: true })), trace.length, error, "Error: release", true);
  });

  it("reports a thrown non-Error as it is", () => {
    expectThrownAt(thrown(() => new TimedReplay(trace, throwingOn(new Bump(), 2, "oops")).run()), 2, "oops", "the allocator threw oops");
    expectThrownAt(thrown(() => replayVerified(trace, throwingOn(new Bump(), 2, "oops"))), 2, "oops", "the allocator threw oops");
  });

  it("passes a ReplayMismatch it throws through unchanged", () => {
    const inner = new ReplayMismatch(42, "inner check failed");
    expect(thrown(() => new TimedReplay(trace, throwingOn(new Bump(), 3, inner)).run())).toBe(inner);
    expect(thrown(() => replayVerified(trace, throwingOn(new Bump(), 3, inner)))).toBe(inner);
    expect(inner.event).toBe(42);
    expect(inner.reason).toBe("inner check failed");
  });

  it("still reports a block's contents as a mismatch, not as a throw", () => {
    const error = thrown(() => replayVerified(trace, new Bump(true)));
    expect(error).toBeInstanceOf(ReplayMismatch);
    expect((error as ReplayMismatch).reason).not.toMatch(/allocator threw/);
    expect((error as ReplayMismatch).cause).toBeUndefined();
  });
});

describe("replayVerified probe", () => {
  const mallocs = parseTrace(text(Array.from({ length: 10 }, (_, i) => `a ${i} 16\n`).join("")), "mallocs");

  /** The probe calls for `options`, each with the allocator's call count at that moment. */
  function probes(options: { probeAfter?: number; limit?: number }): [number, number][] {
    const bump = throwingOn(new Bump(), 0, null); // call 0 never comes: it only counts
    const seen: [number, number][] = [];
    replayVerified(mallocs, bump, { ...options, probe: (event) => seen.push([event, bump.calls]) });
    return seen;
  }

  it("is called once, right after event probeAfter (the events up to it applied)", () => {
    for (const after of [1, 5, 10]) expect(probes({ probeAfter: after }), `probeAfter ${after}`).toEqual([[after, after]]);
  });

  it("is not called when probeAfter is beyond the replay, 0 or not given", () => {
    expect(probes({ probeAfter: 11 })).toEqual([]);
    expect(probes({ probeAfter: 0 })).toEqual([]);
    expect(probes({ probeAfter: 8, limit: 5 })).toEqual([]);
    expect(probes({})).toEqual([]);
    expect(probes({ probeAfter: 4, limit: 5 })).toEqual([[4, 4]]);
  });
});

describe("findMismatch / patternByte", () => {
  it("finds the first differing byte at any alignment and length", () => {
    const u8 = new Uint8Array(256).fill(7);
    for (const [start, length] of [[0, 0], [1, 3], [3, 200], [16, 64]] as const) {
      expect(findMismatch(u8, start, length, 7)).toBe(-1);
    }
    u8[150] = 9;
    expect(findMismatch(u8, 3, 200, 7)).toBe(150);
    expect(findMismatch(u8, 151, 20, 7)).toBe(-1);
  });

  it("works for addresses at and above 2^31", () => {
    // 2 GiB + 64 KiB, of which only the last 64 KiB are ever touched
    const u8 = new Uint8Array(2 ** 31 + 65536);
    u8.fill(7, 2 ** 31, 2 ** 31 + 64);
    expect(findMismatch(u8, 2 ** 31 + 1, 39, 7)).toBe(-1);
    u8[2 ** 31 + 30] = 1;
    expect(findMismatch(u8, 2 ** 31 + 1, 39, 7)).toBe(2 ** 31 + 30);
  });

  it("never uses 0 and differs between neighbouring ids", () => {
    for (let id = 0; id < 1000; id++) {
      expect(patternByte(id)).toBeGreaterThan(0);
      expect(patternByte(id)).toBeLessThan(256);
      expect(patternByte(id)).not.toBe(patternByte(id + 1));
    }
  });
});
