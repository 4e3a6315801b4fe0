import { AllocatorModel, findMismatch, parseTrace, patternByte, ReplayMismatch, replayTimed, replayVerified, type ReplayAllocator, type ReplayTarget } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";

/** A bump allocator over a plain buffer; `overlap` makes it hand out overlapping blocks. */
class Bump implements ReplayAllocator {
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

const trace = parseTrace(new TextEncoder().encode("a 0 40\nc 1 3 8\nr 0 2 100\na 3 16\nf 1\nf 2\n"), "t");

describe("replayVerified", () => {
  it("replays a trace through a correct allocator and reports its peak", () => {
    const bump = new Bump();
    const result = replayVerified(trace, bump, { release: true });
    expect(result.events).toBe(6);
    expect(result.peakLiveBytes).toBe(40 + 24 + 100 - 40 + 16);
    expect(result.peakLiveBlocks).toBe(3);
    expect(result.liveBlocks).toBe(1);
    expect(result.failures).toBe(0);
    expect(bump.freed).toBe(3);
  });

  it("catches an allocator that hands out overlapping blocks, with the event number", () => {
    expect(() => replayVerified(trace, new Bump(true))).toThrow(ReplayMismatch);
    try {
      replayVerified(trace, new Bump(true));
    } catch (e) {
      expect((e as ReplayMismatch).event).toBe(2);
      expect((e as ReplayMismatch).message).toMatch(/^event 2: /);
    }
  });

  it("requires 16-byte alignment unless told another", () => {
    expect(() => replayVerified(trace, new Bump(false, 8))).toThrow(/event 1: block 1 at 0x38 is not 16-byte aligned/);
    expect(replayVerified(trace, new Bump(false, 8), { alignment: 8 }).failures).toBe(0);
  });

  it("calls the checkpoint every N events and at the end", () => {
    const seen: number[] = [];
    replayVerified(trace, new Bump(), { every: 2, checkpoint: (e) => seen.push(e) });
    expect(seen).toEqual([1, 3, 5, 6]);
  });
});

describe("replayTimed", () => {
  it("runs every event and counts NULL returns", () => {
    const bump = new Bump();
    expect(replayTimed(trace, bump, new Float64Array(trace.ids))).toBe(0);
    expect(bump.freed).toBe(2);
    const failing = { malloc: () => 0, calloc: () => 0, realloc: () => 0, free: () => undefined };
    expect(replayTimed(trace, failing, new Float64Array(trace.ids))).toBe(4);
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
const everyKind = parseTrace(
  new TextEncoder().encode("a 0 16\na 1 999\nc 2 4 8\nr 0 3 32\nr 1 4 24\nm 5 64 10\nf 2\nf 3\na 6 999\nf 6\nf 4\nr 5 7 999\nf 7\n"),
  "every kind",
);

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

/** What `run` throws (fails the test when it throws nothing). */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/** Checks that `error` is the ReplayMismatch for `cause` thrown at `event`. */
function expectThrownAt(error: unknown, event: number, cause: unknown, what: string): void {
  expect(error).toBeInstanceOf(ReplayMismatch);
  const mismatch = error as ReplayMismatch;
  expect(mismatch.event).toBe(event);
  expect(mismatch.reason.startsWith("the allocator threw ")).toBe(true);
  expect(mismatch.reason).toContain(what);
  expect(mismatch.message).toBe(`event ${event}: ${mismatch.reason}`);
  expect(mismatch.cause).toBe(cause);
}

describe("replayTimed in pieces", () => {
  const one = new Recorder();
  const failures = replayTimed(everyKind, one, new Float64Array(everyKind.ids));

  it("makes the calls the trace asks for (the reference)", () => {
    expect(failures).toBe(3);
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

  it("makes the same calls for [0, k) then [k, n), for every k", () => {
    for (let k = 0; k <= everyKind.length; k++) {
      const pieces = new Recorder();
      const address = new Float64Array(everyKind.ids);
      const first = replayTimed(everyKind, pieces, address, k);
      const second = replayTimed(everyKind, pieces, address, everyKind.length, k);
      expect(pieces.calls, `cut at ${k}`).toEqual(one.calls);
      expect(first + second, `cut at ${k}`).toBe(failures);
    }
  });

  it("replays only [start, limit) and nothing when start >= limit", () => {
    const address = new Float64Array(everyKind.ids);
    const recorder = new Recorder();
    replayTimed(everyKind, recorder, address, 3);
    const before = recorder.calls.length;
    replayTimed(everyKind, recorder, address, 5, 3);
    expect(recorder.calls.slice(before)).toEqual(["realloc(32, 32) = 64", "malloc(24) = 80"]);
    replayTimed(everyKind, recorder, address, 5, 5);
    expect(recorder.calls.length).toBe(before + 2);
  });
});

describe("an allocator that throws", () => {
  // trace: a, c, r, a, f, f: call N is event N - 1
  for (let nth = 1; nth <= 6; nth++) {
    it(`is reported as a ReplayMismatch at event ${nth - 1} by replayTimed and replayVerified`, () => {
      const error = new RangeError(`boom on call ${nth}`);
      const timed = throwingOn(new Bump(), nth, error);
      expectThrownAt(thrown(() => replayTimed(trace, timed, new Float64Array(trace.ids))), nth - 1, error, `RangeError: boom on call ${nth}`);
      expect(timed.calls).toBe(nth);
      const verified = throwingOn(new Bump(), nth, error);
      expectThrownAt(thrown(() => replayVerified(trace, verified)), nth - 1, error, `RangeError: boom on call ${nth}`);
      expect(verified.calls).toBe(nth);
    });
  }

  it("keeps the event of the piece a cut replay is in", () => {
    const error = new Error("late");
    const address = new Float64Array(trace.ids);
    replayTimed(trace, new Bump(), address, 3);
    expectThrownAt(thrown(() => replayTimed(trace, throwingOn(new Bump(), 2, error), address, trace.length, 3)), 4, error, "Error: late");
  });

  it("reports a throw while releasing the blocks live at the end as event `limit`", () => {
    // trace: a, c, r, a, f, f; one block is live at the end, so call 7 is its release
    const error = new Error("release");
    expectThrownAt(thrown(() => replayVerified(trace, throwingOn(new Bump(), 7, error), { release: true })), trace.length, error, "Error: release");
  });

  it("reports a thrown non-Error as it is", () => {
    expectThrownAt(thrown(() => replayTimed(trace, throwingOn(new Bump(), 2, "oops"), new Float64Array(trace.ids))), 1, "oops", "the allocator threw oops");
    expectThrownAt(thrown(() => replayVerified(trace, throwingOn(new Bump(), 2, "oops"))), 1, "oops", "the allocator threw oops");
  });

  it("passes a ReplayMismatch it throws through unchanged", () => {
    const inner = new ReplayMismatch(42, "inner check failed");
    expect(thrown(() => replayTimed(trace, throwingOn(new Bump(), 3, inner), new Float64Array(trace.ids)))).toBe(inner);
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
  const mallocs = parseTrace(new TextEncoder().encode(Array.from({ length: 10 }, (_, i) => `a ${i} 16\n`).join("")), "mallocs");

  /** The probe calls for `options`, each with the allocator's call count at that moment. */
  function probes(options: { probeAt?: number; limit?: number }): [number, number][] {
    const bump = throwingOn(new Bump(), 0, null); // call 0 never comes: it only counts
    const seen: [number, number][] = [];
    replayVerified(mallocs, bump, { ...options, probe: (event) => seen.push([event, bump.calls]) });
    return seen;
  }

  it("is called once, right after event probeAt", () => {
    for (const at of [0, 4, 9]) expect(probes({ probeAt: at }), `probeAt ${at}`).toEqual([[at, at + 1]]);
  });

  it("is not called when probeAt is beyond the replay or not given", () => {
    expect(probes({ probeAt: 10 })).toEqual([]);
    expect(probes({ probeAt: 100 })).toEqual([]);
    expect(probes({ probeAt: 7, limit: 5 })).toEqual([]);
    expect(probes({})).toEqual([]);
    expect(probes({ probeAt: 3, limit: 5 })).toEqual([[3, 4]]);
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

describe("AllocatorModel", () => {
  it("accepts disjoint aligned blocks and checks contents on free", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    model.allocated(16, 10);
    model.allocated(32, 16, false);
    expect(model.size).toBe(2);
    model.freed(16);
    expect(model.size).toBe(1);
    memory.u8[40] = 0xff;
    expect(() => model.freed(32)).toThrow(/overwritten at \+8/);
  });

  it("refuses overlap, misalignment, leaving the memory and dirty calloc blocks", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    model.allocated(64, 32);
    expect(() => model.allocated(80, 16)).toThrow(/overlaps/);
    expect(() => model.allocated(8, 16)).toThrow(/aligned/);
    expect(() => model.allocated(4080, 32)).toThrow(/leaves the memory/);
    memory.u8[200] = 1;
    expect(() => model.allocated(192, 16, true)).toThrow(/not zero/);
    model.allocated(0, 16); // 0 is a failed allocation: ignored
    expect(model.size).toBe(1);
  });

  it("checks the kept prefix on realloc and the old block on a failed realloc", () => {
    const memory = { u8: new Uint8Array(4096) };
    const model = new AllocatorModel(memory);
    model.allocated(64, 32);
    memory.u8.copyWithin(256, 64, 96);
    model.reallocated(64, 256, 64);
    expect(model.get(256)?.size).toBe(64);
    model.reallocated(256, 0, 1000);
    expect(model.get(256)).toBeDefined();
    model.allocated(512, 16);
    expect(() => model.reallocated(512, 1024, 16)).toThrow(/lost its contents/);
  });
});
