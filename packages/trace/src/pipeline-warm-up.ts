/** Blocks handed over per batch in the workers benchmark's pipeline (threads-bench-worker.ts). */
export const PIPELINE_BATCH = 64;

/**
 * The blocks the workers benchmark's pipeline hands over untimed before it times `blocks` more: a
 * tenth of them, rounded down to whole batches of {@link PIPELINE_BATCH}, so that the timed part
 * starts on a batch's edge with every path of both sides compiled and the pools refilled through
 * the remote-free list. `c/tsmalloc-threads.c` (@tsmalloc/cli) warms its pipeline the same way.
 * Never throws (0 for fewer than 640 blocks).
 */
export function pipelineWarmBlocks(blocks: number): number {
  return Math.floor(blocks / 10 / PIPELINE_BATCH) * PIPELINE_BATCH;
}
