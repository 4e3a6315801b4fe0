/*
 * TraceSeries (src/trace-series.ts): the live-bytes curve against a model written here from the
 * trace format, the stride and sample count for the lengths that matter (0, 1, the sample
 * budget and one more, the whole bundled trace), footprint recording only at sample points and
 * at the end, the peak against @tsmalloc/trace's traceProfile and the bundled trace's meta.json,
 * and the curve without the blocks of requests a replay saw refused.
 */
import { bundledTraceMeta, bundledTracePath, loadTrace, type Trace, traceProfile } from "@tsmalloc/testkit";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_SAMPLES, TraceSeries } from "../src/trace-series.ts";
import { traceOf } from "./helpers.ts";

/** Live bytes after each prefix, from the events alone: a map id -> bytes, rebuilt from scratch. */
function modelCurve(trace: Trace): number[] {
  const live = new Map<number, number>();
  let total = 0;
  const curve = [0];
  for (let event = 0; event < trace.length; event++) {
    const id = trace.id[event]!;
    const size = trace.size[event]!;
    switch (trace.op[event]) {
      case 0: // a
      case 4: // m
        live.set(id, size);
        total += size;
        break;
      case 1: // c: NMEMB x SIZE
        live.set(id, trace.arg[event]! * size);
        total += trace.arg[event]! * size;
        break;
      case 2: {
        // r OLD NEW SIZE: the old block's bytes go, the new size comes
        const old = trace.arg[event]!;
        total -= live.get(old)!;
        live.delete(old);
        live.set(id, size);
        total += size;
        break;
      }
      case 3:
        total -= live.get(id)!;
        live.delete(id);
        break;
    }
    curve.push(total);
  }
  return curve;
}

/** A trace of `n` mallocs of 1 byte each (ids 0..n-1). */
function mallocs(n: number): Trace {
  return {
    name: `mallocs${n}`,
    length: n,
    ids: n,
    op: new Uint8Array(n),
    id: Uint32Array.from({ length: n }, (_, i) => i),
    arg: new Uint32Array(n),
    size: new Float64Array(n).fill(1),
  };
}

describe("live bytes", () => {
  it("follow a, c (NMEMB × SIZE), r (the old id's bytes go) and f, event by event", () => {
    const trace = traceOf(["a 0 100", "c 1 3 40", "r 0 2 250", "m 3 64 30", "f 1", "r 2 2 10", "a 4 0", "f 3", "c 5 0 99", "f 2"]);
    const series = new TraceSeries(trace);
    expect(Array.from(series.liveBytes)).toEqual([0, 100, 220, 370, 400, 280, 40, 40, 10, 10, 0]);
    expect(Array.from(series.liveBytes)).toEqual(modelCurve(trace));
    expect(series.peakLiveBytes).toBe(400);
    // after event 4 (events are numbered from 1): liveBytes[4]
    expect(series.peakEvent).toBe(4);
    expect(series.liveBytes[series.peakEvent]).toBe(400);
  });

  it("equal the model over 60,000 events of py_compileall (reallocs and callocs included)", () => {
    const trace = loadTrace(bundledTracePath("py_compileall"), 60_000);
    const profile = traceProfile(trace);
    expect(profile.reallocs).toBeGreaterThan(0);
    expect(profile.callocs).toBeGreaterThan(0);
    const series = new TraceSeries(trace);
    expect(series.liveBytes.length).toBe(trace.length + 1);
    const model = modelCurve(trace);
    let wrong = -1;
    for (let k = 0; k <= trace.length; k++) {
      if (series.liveBytes[k] !== model[k]) {
        wrong = k;
        break;
      }
    }
    expect(wrong, wrong < 0 ? "" : `liveBytes[${wrong}] = ${series.liveBytes[wrong]}, model ${model[wrong]}`).toBe(-1);
    expect(series.peakLiveBytes).toBe(Math.max(...model));
    expect(model[series.peakEvent]).toBe(series.peakLiveBytes);
    // the first event after which the peak is reached
    expect(model.indexOf(series.peakLiveBytes)).toBe(series.peakEvent);
  });
});

describe("requests a replay saw refused (issue 16: a NULL return is not a live block)", () => {
  const trace = traceOf(["a 0 100", "a 1 3000000000", "f 0", "a 2 600"]);

  it("leave the curve, which noteFailures works out again when there are new ones", () => {
    const series = new TraceSeries(trace);
    expect(Array.from(series.liveBytes)).toEqual([0, 100, 3_000_000_100, 3_000_000_000, 3_000_000_600]);
    expect([series.peakLiveBytes, series.peakEvent, series.failures]).toEqual([3_000_000_600, 4, 0]);
    expect(series.noteFailures([2])).toBe(true);
    expect(Array.from(series.liveBytes)).toEqual([0, 100, 100, 0, 600]);
    expect([series.peakLiveBytes, series.peakEvent, series.failures]).toEqual([600, 4, 1]);
    // a replay from the start sees them again: nothing new
    expect(series.noteFailures([])).toBe(false);
    expect(series.noteFailures([2])).toBe(false);
    expect(series.failures).toBe(1);
  });

  it("are forgotten for another configuration", () => {
    const series = new TraceSeries(trace);
    series.noteFailures([2]);
    series.forgetFailures();
    expect(series.peakLiveBytes).toBe(3_000_000_600);
    expect(series.failures).toBe(0);
    expect(series.liveBytes[2]).toBe(3_000_000_100);
  });
});

describe("stride and samples", () => {
  it.each([
    // length, stride, samples
    [0, 1, 0],
    [1, 1, 1],
    [2, 1, 2],
    [2047, 1, 2047],
    [2048, 1, 2048],
    [2049, 2, 1025],
    [4096, 2, 2048],
    [4097, 3, 1366],
  ])("length %d: stride %d, samples %d", (length, stride, samples) => {
    const series = new TraceSeries(mallocs(length));
    expect(MAX_SAMPLES).toBe(2048);
    expect(series.length).toBe(length);
    expect(series.stride).toBe(stride);
    expect(series.samples).toBe(samples);
    expect(series.footprint.length).toBe(samples + 1);
    expect(Array.from(series.footprint).every(Number.isNaN)).toBe(true);
    expect(series.liveBytes.length).toBe(length + 1);
    // sample k stands for min(k * stride, length) events; the last one for the whole trace
    expect(series.eventOf(0)).toBe(0);
    expect(series.eventOf(samples)).toBe(length);
    if (samples > 0) expect(series.eventOf(samples - 1)).toBe((samples - 1) * stride);
    expect(series.samples).toBeLessThanOrEqual(MAX_SAMPLES);
  });

  it("an empty trace: one sample, no peak", () => {
    const series = new TraceSeries(mallocs(0));
    expect(Array.from(series.liveBytes)).toEqual([0]);
    expect(series.peakEvent).toBe(0);
    expect(series.peakLiveBytes).toBe(0);
    series.record(0, 4096);
    expect(Array.from(series.footprint)).toEqual([4096]);
    expect(series.maxFootprint()).toBe(4096);
  });

  it("maxSamples other than the default", () => {
    const series = new TraceSeries(mallocs(10), 3);
    expect([series.stride, series.samples]).toEqual([4, 3]);
    expect([0, 1, 2, 3].map((k) => series.eventOf(k))).toEqual([0, 4, 8, 10]);
    const one = new TraceSeries(mallocs(10), 1);
    expect([one.stride, one.samples]).toEqual([10, 1]);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("maxSamples %d is a RangeError", (bad) => {
    expect(() => new TraceSeries(mallocs(5), bad)).toThrow(RangeError);
    expect(() => new TraceSeries(mallocs(5), bad)).toThrow(/maxSamples must be a positive integer/);
  });
});

describe("the whole bundled trace", () => {
  let trace: Trace;
  let series: TraceSeries;
  beforeAll(() => {
    trace = loadTrace(bundledTracePath("py_compileall"));
    series = new TraceSeries(trace);
  });

  it("995,232 events in 2,048 samples of 486 events", () => {
    expect(trace.length).toBe(995_232);
    expect(series.stride).toBe(486);
    expect(series.samples).toBe(2048);
    expect(series.eventOf(2047)).toBe(2047 * 486);
    expect(series.eventOf(2048)).toBe(995_232);
    expect(series.footprint.length).toBe(2049);
  });

  it("the peak is traceProfile's and the meta.json's, and the curve reaches it there first", () => {
    const profile = traceProfile(trace);
    expect(series.peakLiveBytes).toBe(profile.peakLiveBytes);
    expect(series.peakEvent).toBe(profile.peakEvent);
    expect(series.peakLiveBytes).toBe(bundledTraceMeta("py_compileall").peak_live_bytes);
    let max = 0;
    let first = -1;
    for (let k = 0; k <= trace.length; k++) {
      if (series.liveBytes[k]! > max) {
        max = series.liveBytes[k]!;
        first = k;
      }
    }
    expect(max).toBe(series.peakLiveBytes);
    expect(first).toBe(series.peakEvent);
    expect(series.liveBytes[trace.length]).toBe(profile.liveAtEndBytes);
  });
});

describe("record", () => {
  it("writes sample points and the end only", () => {
    const series = new TraceSeries(mallocs(2049)); // stride 2, samples 1025
    for (let events = 0; events <= 2049; events++) series.record(events, events * 10);
    // every even count lands on sample events / 2; the odd end lands on the last sample
    for (let k = 0; k < 1025; k++) expect(series.footprint[k]).toBe(k * 2 * 10);
    expect(series.footprint[1025]).toBe(2049 * 10);
    expect(series.maxFootprint()).toBe(20490);
  });

  it("ignores counts between sample points", () => {
    const series = new TraceSeries(mallocs(100), 10); // stride 10
    series.record(5, 111);
    series.record(99, 222);
    series.record(11, 333);
    expect(Array.from(series.footprint).every(Number.isNaN)).toBe(true);
    expect(series.maxFootprint()).toBe(0);
    series.record(30, 444);
    series.record(100, 555);
    expect(Array.from(series.footprint).map((v) => (Number.isNaN(v) ? null : v))).toEqual([null, null, null, 444, null, null, null, null, null, null, 555]);
    expect(series.maxFootprint()).toBe(555);
  });

  it("maxFootprint skips the NaN of samples not replayed yet", () => {
    const series = new TraceSeries(mallocs(4), 4);
    series.record(1, 70);
    series.record(3, 30);
    expect(series.maxFootprint()).toBe(70);
  });
});
