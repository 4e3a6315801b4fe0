/*
 * The debug panel's part of ReplaySession (src/replay-session.ts): injectOverflow writes 'x'
 * bytes over the debug hooks' trailing guard bytes and nowhere else; the replay then stops at
 * exactly the event that frees or reallocates the block, with the report a reproduction by hand
 * gets (a fresh runtime, the same events, the same byte, then runtime.memFree(p) or memRealloc
 * in a try/catch); freeInjectedNow gives that report at once and leaves the heap as it was;
 * going back clears the fault and the injection; every refused call throws its documented
 * error and leaves every byte of the memory as it was.
 */
import { DebugCorruptionError, FORBIDDENBYTE, HEADER_BYTES, TRAILER_BYTES } from "@tsmalloc/debug";
import type { AllocatorConfig } from "@tsmalloc/registry";
import { OP_FREE, OP_REALLOC } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import { OVERFLOW_BYTE, ReplaySession } from "../src/replay-session.ts";
import { compileallPrefix, expectSameState, firstDifference, type Reference, referenceAt, releasedBy, thrown, traceOf } from "./helpers.ts";

const DEBUG_CONFIGS = ["debug", "pymalloc_debug", "malloc_debug"] as const satisfies readonly AllocatorConfig[];
const PLAIN_CONFIGS = ["default", "malloc", "pymalloc"] as const satisfies readonly AllocatorConfig[];
const trace = compileallPrefix(20_000);

/** Offsets where two byte arrays of one length differ (at most 65 of them). */
function differences(before: Uint8Array, after: Uint8Array): number[] {
  expect(after.length).toBe(before.length);
  const out: number[] = [];
  if (firstDifference(before, after) < 0) return out;
  for (let at = 0; at < before.length && out.length <= 64; at++) if (before[at] !== after[at]) out.push(at);
  return out;
}

/** The size the debug hooks recorded in a block's header: a big-endian 8-byte word before the API id. */
function headerSize(u8: Uint8Array, p: number): number {
  const head = p - HEADER_BYTES;
  let size = 0;
  for (let i = 0; i < 8; i++) size = size * 256 + u8[head + i]!;
  return size;
}

/** What the runtime throws for `call`, which must be a DebugCorruptionError. */
function corruption(call: () => unknown): DebugCorruptionError {
  const error = thrown(call);
  expect(error).toBeInstanceOf(DebugCorruptionError);
  return error as DebugCorruptionError;
}

/** A reference at `cursor` with `bytes` bytes of 'x' written right after block `id`'s data. */
function overflowedReference(config: AllocatorConfig, cursor: number, id: number, bytes: number): Reference {
  const reference = referenceAt(trace, config, cursor);
  const p = reference.address[id]!;
  expect(p).not.toBe(0);
  for (let i = 0; i < bytes; i++) reference.memory.u8[p + reference.size[id]! + i] = 0x78;
  return reference;
}

/**
 * Applies the events before event `event` (numbered from 1; it releases block `id`), then
 * releases the block by hand as that event would.
 */
function releaseByHand(reference: Reference, event: number, id: number): DebugCorruptionError {
  reference.advanceTo(event - 1);
  const p = reference.address[id]!;
  const index = event - 1;
  return corruption(() => (trace.op[index] === OP_FREE ? reference.runtime.memFree(p) : reference.runtime.memRealloc(p, trace.size[index]!)));
}

/** A cursor whose next release is event `event` (from 1: an `r` of a block), a few events before it. */
function cursorBeforeRealloc(from: number): { cursor: number; event: number; id: number } {
  for (let index = from; index < trace.length; index++) {
    if (trace.op[index] !== OP_REALLOC) continue;
    const id = trace.arg[index]!;
    // after the block is made and after the last release before the realloc
    let start = index - 1;
    while (start >= 0 && releasedBy(trace, start) < 0 && !(trace.id[start] === id && trace.op[start] !== OP_FREE)) start--;
    if (index - (start + 1) >= 3) return { cursor: start + 1, event: index + 1, id };
  }
  throw new Error("no realloc with room before it");
}

describe.each(DEBUG_CONFIGS)("%s", (config) => {
  it("the overflow is caught by the trace's free, with the report of a reproduction by hand", () => {
    const session = new ReplaySession(trace, config);
    expect(session.debugHooks).toBe(true);
    const cursor = 5_000;
    session.seek(cursor);
    expect(session.failures).toBe(0);
    const release = session.nextRelease()!;
    expect(release).not.toBeNull();
    expect(trace.op[release.event - 1]).toBe(OP_FREE);
    const { id, event } = release;
    const reference = referenceAt(trace, config, cursor);
    const p = reference.address[id]!;
    const size = reference.size[id]!;
    expect(session.addressOf(id)).toBe(p);
    expect(session.requestedSize(id)).toBe(size);
    expect(headerSize(session.runtime.memory.u8, p)).toBe(size);

    const before = session.runtime.memory.u8.slice();
    const version = session.version;
    const injection = session.injectOverflow(id);
    expect(injection).toEqual({ id, address: p, size, bytes: 1, event: cursor });
    expect(session.injection).toBe(injection);
    expect(session.version).toBeGreaterThan(version);
    expect(differences(before, session.runtime.memory.u8)).toEqual([p + size]);
    expect(before[p + size]).toBe(FORBIDDENBYTE);
    expect(session.runtime.memory.u8[p + size]).toBe(0x78);
    expect(OVERFLOW_BYTE).toBe(0x78);
    expect(session.nextRelease()).toEqual(release);

    // play on: the replay stops at the free, which is not applied (it stands after the event before)
    const applied = session.advance(Number.POSITIVE_INFINITY);
    expect(applied).toBe(event - 1 - cursor);
    expect(session.cursor).toBe(event - 1);
    const fault = session.fault!;
    expect(fault).not.toBeNull();
    expect(fault.event).toBe(event);
    expect(fault.during).toBe(`f ${id}  free(#${id})`);
    expect(fault.error).toBeInstanceOf(DebugCorruptionError);
    const reproduction = overflowedReference(config, cursor, id, 1);
    const byHand = releaseByHand(reproduction, event, id);
    expect(fault.report).toBe(byHand.report);
    expect(fault.report).toBe((fault.error as DebugCorruptionError).report);
    expect(fault.report).toContain("Fatal");
    // the events before the free were applied, and the refused free changed nothing
    expect(firstDifference(session.runtime.memory.u8, reproduction.memory.u8)).toBe(-1);
    expect(session.injection).toBe(injection);

    // nothing moves while there is a fault
    const atFault = session.runtime.memory.u8.slice();
    expect(session.advance(10)).toBe(0);
    expect(session.advance(Number.POSITIVE_INFINITY)).toBe(0);
    expect(session.seek(event - 1)).toBe(true);
    expect(session.cursor).toBe(event - 1);
    expect(session.fault).toBe(fault);
    expect(session.freeInjectedNow()).toBe(fault);
    expect(firstDifference(session.runtime.memory.u8, atFault)).toBe(-1);

    // back one event: a fresh replay, no fault, no overflow
    const generation = session.generation;
    expect(session.seek(event - 2)).toBe(true);
    expect(session.generation).toBe(generation + 1);
    expect(session.fault).toBeNull();
    expect(session.injection).toBeNull();
    expectSameState(session, referenceAt(trace, config, event - 2), "back after the fault");
    // and the free goes through this time
    expect(session.advance(2)).toBe(2);
    expect(session.fault).toBeNull();
    expect(session.addressOf(id)).toBe(0);
  });

  it("a fault on the first event an advance() tries moves version, though the cursor stays", () => {
    const session = new ReplaySession(trace, config);
    session.seek(6_000);
    const { id, event } = session.nextRelease()!;
    session.injectOverflow(id);
    session.seek(event - 1);
    expect(session.fault).toBeNull();
    const version = session.version;
    expect(session.advance(1)).toBe(0);
    expect(session.cursor).toBe(event - 1);
    expect(session.fault?.event).toBe(event);
    expect(session.version).toBeGreaterThan(version);
  });

  it("a seek forward from a fault replays from the start without the overflow", () => {
    const session = new ReplaySession(trace, config);
    session.seek(7_000);
    const release = session.nextRelease()!;
    session.injectOverflow(release.id, TRAILER_BYTES);
    expect(session.seek(release.event + 100)).toBe(true);
    expect(session.fault?.event).toBe(release.event);
    expect(session.cursor).toBe(release.event - 1);
    const generation = session.generation;
    expect(session.seek(release.event + 100)).toBe(true);
    expect(session.generation).toBe(generation + 1);
    expect(session.fault).toBeNull();
    expect(session.injection).toBeNull();
    expectSameState(session, referenceAt(trace, config, release.event + 100), "seek forward after the fault");
  });

  it("the overflow is kept while the replay moves short of the free, and all 8 guard bytes can go", () => {
    const session = new ReplaySession(trace, config);
    session.seek(9_000);
    const { id, event } = session.nextRelease()!;
    const p = session.addressOf(id);
    const size = session.requestedSize(id);
    const before = session.runtime.memory.u8.slice();
    session.injectOverflow(id, TRAILER_BYTES);
    const written = differences(before, session.runtime.memory.u8);
    expect(written).toEqual(Array.from({ length: TRAILER_BYTES }, (_, i) => p + size + i));
    for (const at of written) expect([before[at], session.runtime.memory.u8[at]]).toEqual([FORBIDDENBYTE, 0x78]);
    // the events before the free, but one
    const short = event - 1 - 9_000 - 1;
    if (short > 0) {
      expect(session.advance(short)).toBe(short);
      expect(session.fault).toBeNull();
      expect(session.injection?.id).toBe(id);
      expect(session.runtime.memory.u8[p + size + TRAILER_BYTES - 1]).toBe(0x78);
    }
    session.advance(1_000);
    expect(session.fault?.event).toBe(event);
    const byHand = releaseByHand(overflowedReference(config, 9_000, id, TRAILER_BYTES), event, id);
    expect(session.fault?.report).toBe(byHand.report);
  });

  it("a realloc of the block by the trace is caught too", () => {
    const { cursor, event, id } = cursorBeforeRealloc(3_000);
    const session = new ReplaySession(trace, config);
    session.seek(cursor);
    expect(session.nextRelease()).toEqual({ id, event });
    session.injectOverflow(id, 2);
    expect(session.advance(Number.POSITIVE_INFINITY)).toBe(event - 1 - cursor);
    const fault = session.fault!;
    expect(fault.event).toBe(event);
    const index = event - 1;
    expect(fault.during).toBe(`r ${id} ${trace.id[index]} ${trace.size[index]}  realloc(#${id}, ${trace.size[index]}) -> #${trace.id[index]}`);
    const byHand = releaseByHand(overflowedReference(config, cursor, id, 2), event, id);
    expect(fault.report).toBe(byHand.report);
    expect(byHand.func).toMatch(/Realloc/);
    // the refused realloc moved nothing: the old block is still there under the old id
    expect(session.addressOf(id)).not.toBe(0);
    expect(session.addressOf(trace.id[index]!)).toBe(trace.id[index] === id ? session.addressOf(id) : 0);
  });

  it("freeInjectedNow: the report of PyMem_Free by hand, and the heap as it was", () => {
    const session = new ReplaySession(trace, config);
    const cursor = 12_345;
    session.seek(cursor);
    const { id } = session.nextRelease()!;
    const p = session.addressOf(id);
    session.injectOverflow(id, 2);
    const runtime = session.runtime;
    const before = runtime.memory.u8.slice();
    const stats = runtime.debugMallocStats();
    const malloc = runtime.mallocHeap.stats();
    const version = session.version;
    const fault = session.freeInjectedNow();
    expect(session.fault).toBe(fault);
    expect(session.version).toBeGreaterThan(version);
    expect(fault.event).toBe(cursor);
    expect(session.cursor).toBe(cursor);
    expect(fault.during).toBe(`PyMem_Free(0x${p.toString(16)}) from the panel (block ${id})`);
    expect(fault.error).toBeInstanceOf(DebugCorruptionError);
    const reference = overflowedReference(config, cursor, id, 2);
    expect(fault.report).toBe(corruption(() => reference.runtime.memFree(p)).report);
    // the refused free freed nothing
    expect(firstDifference(runtime.memory.u8, before)).toBe(-1);
    expect(runtime.check().ok).toBe(true);
    expect(runtime.debugMallocStats()).toBe(stats);
    expect(runtime.mallocHeap.stats()).toEqual(malloc);
    expect(session.addressOf(id)).toBe(p);
    expect(session.injection?.id).toBe(id);
    // again: the same fault, nothing written
    expect(session.freeInjectedNow()).toBe(fault);
    expect(session.advance(1)).toBe(0);
    expect(firstDifference(runtime.memory.u8, before)).toBe(-1);
  });

  describe("refused calls throw and write nothing", () => {
    const cursor = 4_000;
    /** A session at `cursor`, a dead id and a live one there. */
    function setup(): { session: ReplaySession; live: number; dead: number } {
      const session = new ReplaySession(trace, config);
      session.seek(cursor);
      let dead = -1;
      for (let event = cursor - 1; event >= 0 && dead < 0; event--) if (trace.op[event] === OP_FREE && session.addressOf(trace.id[event]!) === 0) dead = trace.id[event]!;
      const live = session.nextRelease()!.id;
      expect(dead).toBeGreaterThanOrEqual(0);
      return { session, live, dead };
    }

    /** Expects `call` to throw `type` (exactly that class) and to change no byte, no version, no injection. */
    function expectRefused(session: ReplaySession, call: () => unknown, type: typeof Error | typeof RangeError, message: RegExp): void {
      const before = session.runtime.memory.u8.slice();
      const { version, injection, fault, cursor: at } = session;
      const error = thrown(call);
      expect(error).toBeInstanceOf(type);
      expect((error as Error).constructor).toBe(type);
      expect((error as Error).message).toMatch(message);
      expect(firstDifference(session.runtime.memory.u8, before)).toBe(-1);
      expect([session.version, session.injection, session.fault, session.cursor]).toEqual([version, injection, fault, at]);
    }

    it("ids that are not live blocks: RangeError", () => {
      const { session, dead } = setup();
      for (const bad of [dead, Number.NaN, 1.5, -1, -0.5, trace.ids, 2 ** 40, Number.POSITIVE_INFINITY]) {
        expectRefused(session, () => session.injectOverflow(bad), RangeError, /^injectOverflow: .* is not a live block id after event 4000$/);
      }
      expect(session.injection).toBeNull();
    });

    it("byte counts outside 1..8: RangeError", () => {
      const { session, live } = setup();
      for (const bad of [0, 9, 1.5, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expectRefused(session, () => session.injectOverflow(live, bad), RangeError, /^injectOverflow: bytes must be an integer in \[1, 8\]/);
      }
      expect(session.injection).toBeNull();
    });

    it("a second injection, and any while the replay is stopped at a fault: Error", () => {
      const { session, live } = setup();
      session.injectOverflow(live);
      let other = -1;
      for (let id = 0; id < trace.ids && other < 0; id++) if (id !== live && session.addressOf(id) !== 0) other = id;
      expectRefused(session, () => session.injectOverflow(other), Error, new RegExp(`^injectOverflow: block ${live} already carries an overflow$`));
      expectRefused(session, () => session.injectOverflow(live), Error, /already carries an overflow/);
      session.freeInjectedNow();
      expectRefused(session, () => session.injectOverflow(other), Error, /^injectOverflow: the replay has stopped at a fault/);
    });

    it("freeInjectedNow with nothing injected: Error", () => {
      const { session } = setup();
      expectRefused(session, () => session.freeInjectedNow(), Error, /^freeInjectedNow: no block carries an overflow/);
      expect(session.fault).toBeNull();
    });
  });
});

describe.each(PLAIN_CONFIGS)("%s has no debug hooks", (config) => {
  it("injectOverflow is refused with an Error naming the configuration, nothing written", () => {
    const session = new ReplaySession(trace, config);
    expect(session.debugHooks).toBe(false);
    session.seek(3_000);
    const live = session.nextRelease()!.id;
    const before = session.runtime.memory.u8.slice();
    const version = session.version;
    const error = thrown(() => session.injectOverflow(live));
    expect((error as Error).constructor).toBe(Error);
    expect((error as Error).message).toBe(
      `injectOverflow: the ${config} configuration has no debug hooks, so nothing would notice the overflow; choose debug, pymalloc_debug or malloc_debug`,
    );
    expect(firstDifference(session.runtime.memory.u8, before)).toBe(-1);
    expect(session.version).toBe(version);
    expect(session.injection).toBeNull();
    expect(() => session.freeInjectedNow()).toThrow(/no block carries an overflow/);
  });
});

describe("a block kept by a realloc that returned NULL", () => {
  // r 0 -> 1 asks for more than PY_SSIZE_T_MAX: NULL, the program keeps its 100-byte block as #1
  const small = traceOf(["a 0 100", "a 2 16", "r 0 1 3000000000", "a 3 8", "f 1"]);

  it.each(DEBUG_CONFIGS)("%s: the overflow goes right after the 100 bytes the block holds", (config) => {
    const session = new ReplaySession(small, config);
    session.seek(3);
    expect(session.failures).toBe(1);
    const p = session.addressOf(1);
    expect(p).not.toBe(0);
    expect(headerSize(session.runtime.memory.u8, p)).toBe(100);
    const before = session.runtime.memory.u8.slice();
    session.injectOverflow(1);
    expect(differences(before, session.runtime.memory.u8)).toEqual([p + 100]);
    session.advance(Number.POSITIVE_INFINITY);
    // event 5, "f 1", is refused
    expect(session.fault?.event).toBe(5);
    expect(session.fault?.error).toBeInstanceOf(DebugCorruptionError);
  });
});
