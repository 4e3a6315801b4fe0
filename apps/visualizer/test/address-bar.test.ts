/*
 * What the page opens from its address (src/address-bar.ts): the trace and configuration, each
 * replaced by the default with a notice when unknown, and `?event` for every kind of bad value:
 * none of them opens silently somewhere else (issue 16).
 */
import { describe, expect, it } from "vitest";
import { eventTarget, readAddress } from "../src/address-bar.ts";

const TRACES = ["py_compileall", "gcc_cc1_wrapt"];

describe("readAddress", () => {
  it("takes what is asked when it is known, and nothing to say", () => {
    expect(readAddress("?trace=gcc_cc1_wrapt&config=pymalloc_debug&event=12", TRACES)).toEqual({ trace: "gcc_cc1_wrapt", config: "pymalloc_debug", event: "12", notices: [] });
    expect(readAddress("", TRACES)).toEqual({ trace: "py_compileall", config: "default", event: null, notices: [] });
  });

  it("uses the defaults for unknown names, and says so", () => {
    expect(readAddress("?trace=bogus&config=fast", TRACES)).toEqual({
      trace: "py_compileall",
      config: "default",
      event: null,
      notices: [
        "?config=fast is not a configuration (default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug): using default",
        "?trace=bogus is not a bundled trace (py_compileall, gcc_cc1_wrapt): using py_compileall",
      ],
    });
    expect(readAddress("?trace=", TRACES).notices).toEqual(["?trace= is not a bundled trace (py_compileall, gcc_cc1_wrapt): using py_compileall"]);
  });
});

describe("eventTarget", () => {
  it("opens at the event asked for, from 0 to the end", () => {
    expect(eventTarget("0", 100, 40)).toEqual({ event: 0, notice: "" });
    expect(eventTarget("7", 100, 40)).toEqual({ event: 7, notice: "" });
    expect(eventTarget("100", 100, 40)).toEqual({ event: 100, notice: "" });
  });

  it("opens at the peak with no value", () => {
    expect(eventTarget(null, 100, 40)).toEqual({ event: 40, notice: "" });
    expect(eventTarget("peak", 100, 40)).toEqual({ event: 40, notice: "" });
  });

  it("opens at the end past it, and says so", () => {
    expect(eventTarget("101", 1_000_000, 40)).toEqual({ event: 101, notice: "" });
    expect(eventTarget("2000000", 1_000_000, 40)).toEqual({ event: 1_000_000, notice: "?event=2000000 is past the end of the trace (1,000,000 events): opening at its end" });
    expect(eventTarget("99999999999999999999999", 10, 4).event).toBe(10);
  });

  it("opens at the peak for what is not an event number, and says so", () => {
    for (const text of ["-3", "1.5", "ten", "", " 5", "0x10", "1e3", "+4"]) {
      expect(eventTarget(text, 995_232, 251_313), text).toEqual({
        event: 251_313,
        notice: `?event=${text} is not an event number (0 to 995,232): opening at the peak of live bytes, after event 251,313`,
      });
    }
  });
});
