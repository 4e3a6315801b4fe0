import { describe, expect, it } from "vitest";
import { runWorkers } from "../src/index.ts";

describe("runWorkers", () => {
  const url = new URL("./fixtures/echo-worker.ts", import.meta.url);

  it("returns each worker's first message, in the order of the jobs", async () => {
    expect(await runWorkers<number>(url, [{ value: 1 }, { value: 2 }, { value: 3 }])).toEqual([2, 4, 6]);
  }, 30_000);

  it("rejects when a worker fails", async () => {
    await expect(runWorkers<number>(url, [{ value: 1 }, { value: 2, fail: true }])).rejects.toThrow(/told to fail/);
  }, 30_000);
});
