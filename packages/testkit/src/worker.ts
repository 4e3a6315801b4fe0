/*
 * Workers in tests: one per job, each one's first message collected. They start through
 * @tsmalloc/trace's startWorker, which runs a TypeScript module through tsx (see there).
 */
import type { Worker } from "node:worker_threads";
import { startWorker } from "@tsmalloc/trace/bench";

/** Resolves with the worker's first message; rejects on an error or an exit before one. */
export function firstMessage<T>(worker: Worker): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    worker.once("message", (message: T) => resolve(message));
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`worker exited with code ${code} before replying`)));
  });
}

/**
 * Starts one worker per job on the TypeScript module at `url` and waits for each one's first
 * message (its report); the workers are terminated in every case.
 *
 * @returns the reports, in the order of `jobs`
 * @throws whatever {@link firstMessage} rejects with for the first worker that fails
 */
export async function runWorkers<T>(url: URL, jobs: readonly unknown[]): Promise<T[]> {
  const workers = jobs.map((job) => startWorker(url, job));
  try {
    return await Promise.all(workers.map((worker) => firstMessage<T>(worker)));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
