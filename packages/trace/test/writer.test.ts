import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { bundledTracePath } from "@tsmalloc/bundled-traces";
import {
  createTraceFile,
  isGzip,
  isTraceError,
  loadTrace,
  parseTrace,
  readTrace,
  type Trace,
  TraceBuilder,
  TraceErrorCode,
  type TraceSink,
  TraceWriter,
  writeTrace,
} from "@tsmalloc/trace";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { text, thrown } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "tsmalloc-writer-"));

/** Every field of a trace as plain arrays. */
function fields(trace: Trace): object {
  return { length: trace.length, ids: trace.ids, op: [...trace.op], id: [...trace.id], arg: [...trace.arg], size: [...trace.size] };
}


/** A writer into a string. */
function stringWriter(): { writer: TraceWriter; text: () => string; chunks: string[] } {
  const chunks: string[] = [];
  return { writer: new TraceWriter((chunk) => chunks.push(chunk)), text: () => chunks.join(""), chunks };
}

describe("TraceWriter", () => {
  it("writes one line per event and `# ` lines for comments", () => {
    const { writer, text: written } = stringWriter();
    writer.comment("two blocks\nand a comment of two lines");
    writer.malloc(0, 100);
    writer.calloc(1, 4, 8);
    writer.realloc(0, 2, 200);
    writer.memalign(3, 64, 10);
    writer.comment("");
    writer.free(1);
    writer.free(2);
    expect(writer.events).toBe(6);
    expect(writer.end()).toBe(6);
    expect(written()).toBe("# two blocks\n# and a comment of two lines\na 0 100\nc 1 4 8\nr 0 2 200\nm 3 64 10\n#\nf 1\nf 2\n");
    expect(fields(parseTrace(text(written()), "w"))).toMatchObject({ length: 6, op: [0, 1, 2, 4, 3, 3] });
  });

  it.each([
    ["free of an id never made", (w: TraceSink) => w.free(7), "ID 7 is not a live block (never allocated, or freed already)"],
    ["an id made twice", (w: TraceSink) => w.malloc(0, 1), "ID 0 is already a live block"],
    ["realloc of a dead id", (w: TraceSink) => w.realloc(9, 10, 1), "OLDID 9 is not a live block (never allocated, or freed already)"],
    ["realloc onto a live id", (w: TraceSink) => w.realloc(0, 1, 1), "NEWID 1 is already a live block"],
    ["a negative size", (w: TraceSink) => w.malloc(5, -1), "SIZE must be an integer from 0 to 2^53, got -1"],
    ["a fractional size", (w: TraceSink) => w.malloc(5, 1.5), "SIZE must be an integer from 0 to 2^53, got 1.5"],
    ["NaN", (w: TraceSink) => w.malloc(5, NaN), "SIZE must be an integer from 0 to 2^53, got NaN"],
    ["a string", (w: TraceSink) => w.malloc("5" as unknown as number, 1), 'ID must be an integer from 0 to 2^32 - 1, got "5"'],
    ["a size over 2^53", (w: TraceSink) => w.malloc(5, 2 ** 53 + 2), "SIZE 9007199254740994 is larger than 2^53"],
    ["an id of 2^32", (w: TraceSink) => w.malloc(2 ** 32, 1), "ID 4294967296 does not fit in 32 bits"],
    ["NMEMB of 2^32", (w: TraceSink) => w.calloc(5, 2 ** 32, 1), "NMEMB 4294967296 does not fit in 32 bits"],
    ["a calloc product over 2^53", (w: TraceSink) => w.calloc(5, 2 ** 31, 2 ** 23), "NMEMB × SIZE (2147483648 × 8388608) is larger than 2^53"],
    ["an alignment of 3", (w: TraceSink) => w.memalign(5, 3, 8), "ALIGN 3 is not a power of two"],
  ])("refuses %s with the field at fault, and writes nothing of it", (_what, bad, reason) => {
    for (const [name, make] of [
      ["TraceWriter", () => stringWriter().writer],
      ["TraceBuilder", () => new TraceBuilder("b")],
    ] as const) {
      const sink = make();
      sink.malloc(0, 1);
      sink.malloc(1, 1);
      const error = thrown(() => bad(sink));
      expect(isTraceError(error, TraceErrorCode.InvalidEvent), name).toBe(true);
      expect((error as Error).message, name).toBe(`${name}${name === "TraceBuilder" ? " b" : ""}, event 3: ${reason}`);
      expect(sink.events).toBe(2);
      sink.free(0);
      expect(sink.events).toBe(3);
    }
  });

  it("hands out whole lines in chunks of about 64 KiB, and the rest at end()", () => {
    const { writer, chunks, text: written } = stringWriter();
    for (let i = 0; i < 20_000; i++) writer.malloc(i, i);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) {
      expect(chunk.length).toBeGreaterThanOrEqual(64 << 10);
      expect(chunk.endsWith("\n")).toBe(true);
    }
    const before = chunks.length;
    writer.end();
    expect(chunks.length).toBe(before + 1);
    writer.end();
    expect(chunks.length).toBe(before + 1);
    expect(parseTrace(text(written()), "w").length).toBe(20_000);
  });

  it("takes nothing after end(), and refuses an output that is not a function and a comment that is not text", () => {
    const { writer } = stringWriter();
    writer.end();
    for (const late of [() => writer.malloc(0, 1), () => writer.comment("late")]) expect(isTraceError(thrown(late), TraceErrorCode.State)).toBe(true);
    expect(isTraceError(thrown(() => new TraceWriter("out" as never)), TraceErrorCode.InvalidArgument)).toBe(true);
    expect(isTraceError(thrown(() => stringWriter().writer.comment(5 as never)), TraceErrorCode.InvalidArgument)).toBe(true);
  });
});

describe("TraceBuilder", () => {
  it("builds the trace the parser would read from the same events", () => {
    const builder = new TraceBuilder("built");
    builder.malloc(0, 16);
    builder.calloc(1, 4, 8);
    builder.realloc(0, 2, 100);
    builder.memalign(3, 64, 10);
    builder.comment("ignored");
    builder.free(1);
    builder.free(2);
    const trace = builder.finish();
    expect(trace.name).toBe("built");
    expect(fields(trace)).toEqual(fields(parseTrace(text("a 0 16\nc 1 4 8\nr 0 2 100\nm 3 64 10\nf 1\nf 2\n"), "t")));
    expect(isTraceError(thrown(() => builder.finish()), TraceErrorCode.State)).toBe(true);
    expect(isTraceError(thrown(() => builder.malloc(9, 1)), TraceErrorCode.State)).toBe(true);
  });

  it("append() says why it refuses an event, and an unknown kind", () => {
    const builder = new TraceBuilder();
    expect(builder.append(0, 0, 0, 5)).toBeNull();
    expect(builder.append(0, 0, 0, 5)).toBe("ID 0 is already a live block");
    expect(builder.append(7, 1, 0, 5)).toBe("unknown event kind 7");
    expect(builder.isLive(0)).toBe(true);
    expect(builder.isLive(1)).toBe(false);
    expect(builder.events).toBe(1);
  });
});

describe("writeTrace", () => {
  it("writes a bundled trace's first 100,000 events as the text they were read from", () => {
    const trace = loadTrace(bundledTracePath("gcc_cc1_wrapt"), 100_000);
    const { writer, text: written } = stringWriter();
    expect(writeTrace(trace, writer)).toBe(100_000);
    writer.end();
    const original = gunzipSync(readFileSync(bundledTracePath("gcc_cc1_wrapt"))).toString("utf8");
    const lines = written();
    expect(lines).toBe(original.slice(0, lines.length));
    expect(fields(parseTrace(text(lines), "again"))).toEqual(fields(trace));
  });

  it("writes only the first `limit` events, into any sink", () => {
    const trace = parseTrace(text("a 0 1\na 1 2\nf 0\n"), "t");
    const builder = new TraceBuilder("copy");
    expect(writeTrace(trace, builder, 2)).toBe(2);
    expect(builder.finish().length).toBe(2);
    expect(isTraceError(thrown(() => writeTrace(trace, new TraceBuilder(), -1)), TraceErrorCode.InvalidArgument)).toBe(true);
  });

  // the model: any sequence of events that keeps the rules comes back from the text as it went in
  it("round-trips random event sequences through the text and the builder alike", () => {
    const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.nat({ max: 7 }), fc.nat({ max: 2 ** 20 }), fc.nat({ max: 6 })), { maxLength: 200 });
    fc.assert(
      fc.property(steps, (plan) => {
        const { writer, text: written } = stringWriter();
        const builder = new TraceBuilder("model");
        const live: number[] = [];
        let next = 0;
        for (const [kind, pick, size, shift] of plan) {
          const victim = live.length === 0 ? -1 : live[pick % live.length]!;
          if (kind === 3 && victim >= 0) {
            live.splice(live.indexOf(victim), 1);
            for (const sink of [writer, builder]) sink.free(victim);
          } else if (kind === 2 && victim >= 0) {
            live.splice(live.indexOf(victim), 1, next);
            for (const sink of [writer, builder]) sink.realloc(victim, next, size);
            next++;
          } else {
            live.push(next);
            for (const sink of [writer, builder]) {
              if (kind === 1) sink.calloc(next, pick, size);
              else if (kind === 4) sink.memalign(next, 1 << shift, size);
              else sink.malloc(next, size);
            }
            next++;
          }
        }
        writer.end();
        expect(fields(parseTrace(text(written()), "model"))).toEqual(fields(builder.finish()));
      }),
      { numRuns: Number(process.env.TSMALLOC_PROPERTY_RUNS ?? (process.env.TSMALLOC_SOAK === "1" ? 5000 : 200)) },
    );
  });
});

describe("createTraceFile", () => {
  it("writes a gzip file for a .gz name and plain text otherwise, that readTrace reads back", async () => {
    for (const [name, gzip] of [
      ["out.trace.gz", true],
      ["out.trace", false],
    ] as const) {
      const path = join(dir, name);
      const file = createTraceFile(path);
      expect(file.gzip).toBe(gzip);
      expect(file.path).toBe(path);
      file.comment("written by a test");
      for (let i = 0; i < 50_000; i++) file.malloc(i, i % 1000);
      for (let i = 0; i < 50_000; i += 2) file.free(i);
      const closing = file.close();
      expect(file.close()).toBe(closing);
      expect(await closing).toBe(75_000);
      expect(isGzip(readFileSync(path))).toBe(gzip);
      const trace = await readTrace(path);
      expect(trace.length).toBe(75_000);
      expect(traceLineOf(trace)).toBe(2);
    }
  });

  it("says when its streams have room again (drained), so that a long loop of writes stays bounded", async () => {
    for (const name of ["drained.trace.gz", "drained.trace"]) {
      const path = join(dir, name);
      const file = createTraceFile(path);
      await file.drained(); // nothing written: at once
      for (let i = 0; i < 100_000; i++) file.malloc(i, i);
      expect(file.buffered).toBeGreaterThan(64 << 10);
      await file.drained();
      expect(file.buffered).toBeLessThanOrEqual(64 << 10);
      for (let i = 0; i < 100_000; i++) file.free(i);
      await file.drained();
      expect(await file.close()).toBe(200_000);
      await file.drained(); // closed: at once
      expect((await readTrace(path)).length).toBe(200_000);
    }
  });

  it("compresses at the level asked for: 1 is larger than 9, and both read back", async () => {
    const sizes: number[] = [];
    for (const level of [1, 9]) {
      const path = join(dir, `level-${level}.trace.gz`);
      const file = createTraceFile(path, { level });
      for (let i = 0; i < 20_000; i++) file.malloc(i, (i * 7919) % 5000);
      await file.close();
      sizes.push(readFileSync(path).length);
      expect((await readTrace(path)).length).toBe(20_000);
    }
    expect(sizes[0]).toBeGreaterThan(sizes[1]!);
  });

  it("follows the gzip option over the name", async () => {
    const path = join(dir, "forced.trace");
    const file = createTraceFile(path, { gzip: true });
    file.malloc(0, 1);
    await file.close();
    expect(isGzip(readFileSync(path))).toBe(true);
    expect((await readTrace(path)).length).toBe(1);
  });

  it("refuses a path it cannot create at once, and bad arguments", () => {
    expect(thrown(() => createTraceFile(join(dir, "no-such-dir", "x.trace")))).toMatchObject({ code: "ENOENT" });
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
    expect(thrown(() => createTraceFile(dir))).toMatchObject({ code: "EISDIR" });
    for (const bad of [
      () => createTraceFile(""),
      () => createTraceFile(5 as never),
      () => createTraceFile(join(dir, "o"), { gzip: "yes" as never }),
      () => createTraceFile(join(dir, "o.gz"), { level: 0 }),
      () => createTraceFile(join(dir, "o.gz"), { level: 2.5 }),
      () => createTraceFile(join(dir, "o.gz"), { level: "9" as never }),
    ]) {
      expect(isTraceError(thrown(bad), TraceErrorCode.InvalidArgument)).toBe(true);
    }
  });
});

/** The line of a trace's first event (2 when a comment comes first). */
function traceLineOf(trace: Trace): number {
  return 1 + (trace.lineShifts?.[1] ?? 0);
}
