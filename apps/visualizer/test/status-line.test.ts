/*
 * The status line (src/status-line.ts) follows the live-bytes curve the replay holds: once the
 * replay meets a NULL return its block leaves the curve, and the peak the line names moves with
 * it, as the figure, the plot and the peak button do.
 */
import { describe, expect, it } from "vitest";
import { ReplaySession } from "../src/replay-session.ts";
import { statusLine } from "../src/status-line.ts";
import { traceOf } from "./helpers.ts";

describe("statusLine", () => {
  it("names the trace, its events and blocks, and the live-bytes peak with its event", () => {
    const trace = traceOf(["a 0 100", "a 1 300", "f 0", "f 1"], "small");
    const session = new ReplaySession(trace, "default");
    expect(statusLine(trace, session.series)).toBe("small: 4 events, 2 blocks; live bytes peak at 400 B after event 2");
    const one = traceOf(["a 0 2048"], "one");
    expect(statusLine(one, new ReplaySession(one, "default").series)).toBe("one: 1 event, 1 block; live bytes peak at 2.00 KiB after event 1");
  });

  it("leaves out the blocks of NULL returns once the replay has met them", () => {
    const trace = traceOf(["a 0 64", "a 1 3000000000", "a 2 3000000000", "f 0"], "big");
    const session = new ReplaySession(trace, "default");
    expect(statusLine(trace, session.series)).toBe("big: 4 events, 3 blocks; live bytes peak at 5.59 GiB after event 3");
    session.advance(2);
    expect(statusLine(trace, session.series)).toBe("big: 4 events, 3 blocks; live bytes peak at 2.79 GiB after event 3, without the block of 1 NULL return");
    session.advance(2);
    expect(session.failures).toBe(2);
    expect(statusLine(trace, session.series)).toBe("big: 4 events, 3 blocks; live bytes peak at 64 B after event 1, without the blocks of 2 NULL returns");
  });
});
