import { LinearMemory, PAGE_SIZE, type Region, RegionOwner } from "@tsmalloc/memory";
import { runWorkers } from "@tsmalloc/testkit";
import { describe, expect, it } from "vitest";
import type { RegionJob, RegionReply } from "./fixtures/protocol.ts";
import { allBytes, headerRegion, MiB } from "./support.ts";

const WORKERS = 4;
const STEPS = 400;

/** Runs the region worker on `memory` in WORKERS workers at once and returns their replies. */
function runRegionWorkers(memory: LinearMemory, seed: number): Promise<RegionReply[]> {
  const sync = new Int32Array(new SharedArrayBuffer(4));
  const jobs = Array.from({ length: WORKERS }, (_, id): RegionJob => ({ source: memory.source, sync, id, workers: WORKERS, steps: STEPS, seed: seed + id }));
  return runWorkers<RegionReply>(new URL("./fixtures/region-worker.ts", import.meta.url), jobs);
}

/** Checks the memory after the workers: exactly their live regions, filled, seen by this thread. */
function expectWorkersLeft(memory: LinearMemory, replies: RegionReply[], startLength: number): void {
  expect(replies.flatMap((reply) => reply.errors)).toEqual([]);
  for (const reply of replies) expect(reply.maps).toBeGreaterThan(STEPS / 4);
  expect(replies.reduce((sum, reply) => sum + reply.unmaps, 0)).toBeGreaterThan(0);
  expect(replies.reduce((sum, reply) => sum + reply.remaps, 0)).toBeGreaterThan(0);

  // this thread never grew the memory: its views, fetched before anything else looks at the
  // memory, must cover what the workers grew
  const end = Math.max(...replies.flatMap((reply) => reply.live.map((region) => region.address + region.size)));
  expect(end).toBeGreaterThan(startLength);
  const u8 = memory.u8;
  expect(u8.length).toBeGreaterThanOrEqual(end);
  expect(memory.i32.length).toBe(u8.length / 4);
  expect(memory.byteLength).toBe(u8.length);
  expect(memory.dataView.byteLength).toBe(u8.length);
  for (const reply of replies) {
    for (const region of reply.live) {
      expect(u8[region.address]).toBe(region.fill);
      expect(u8[region.address + region.size - 1]).toBe(region.fill);
    }
  }

  const live: Region[] = replies
    .flatMap((reply, id) => reply.live.map((region) => ({ address: region.address, size: region.size, owner: RegionOwner.User + id })))
    .sort((a, b) => a.address - b.address);
  expect(memory.regions()).toEqual([headerRegion(memory), ...live]);
  const stats = memory.stats();
  expect(stats.regions).toBe(live.length + 1);
  expect(stats.mappedBytes).toBe(memory.headerBytes + live.reduce((sum, region) => sum + region.size, 0));

  for (const reply of replies) {
    for (const region of reply.live) expect(allBytes(memory, region.address, region.size, region.fill)).toBe(true);
  }
  // and map on after them
  const next = memory.map(PAGE_SIZE);
  expect(next).toBeGreaterThan(0);
  expect(allBytes(memory, next, PAGE_SIZE, 0)).toBe(true);
}

describe("a memory shared by workers", () => {
  it("keeps regions of 4 workers mapping and unmapping at once apart (shared WebAssembly.Memory)", async () => {
    const memory = new LinearMemory({ shared: true });
    const startLength = memory.byteLength;
    const replies = await runRegionWorkers(memory, 1000);
    expectWorkersLeft(memory, replies, startLength);
  });

  it("keeps regions of 4 workers mapping and unmapping at once apart (growable SharedArrayBuffer)", async () => {
    const memory = new LinearMemory({ buffer: new SharedArrayBuffer(0, { maxByteLength: 256 * MiB }) });
    const startLength = memory.byteLength;
    const replies = await runRegionWorkers(memory, 2000);
    expectWorkersLeft(memory, replies, startLength);
  });
});
