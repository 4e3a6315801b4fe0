/*
 * One benchmark run, in a worker of its own (see bench.ts). It warms the JIT up on a part of the
 * workload (a tenth, unless the case says otherwise) with a throw-away target, then times the
 * whole workload on a fresh target (after one untimed pass over it when the case asks for a warm
 * target).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { BenchReply, BenchWorkload, ContenderFactory } from "./bench.ts";
import { replayTimed } from "./replay.ts";
import { runChurn } from "./workloads.ts";

interface Job {
  readonly module: string;
  readonly contender: string;
  readonly workload: BenchWorkload;
  /** Run the whole workload once, untimed, on the timed target first. */
  readonly warm: boolean;
  /** The fraction of the workload run first on a throw-away target, to compile the code. */
  readonly warmup: number;
}

async function main(): Promise<BenchReply> {
  const job = workerData as Job;
  const module = (await import(job.module)) as { contenders: Record<string, ContenderFactory> };
  const factory = module.contenders[job.contender];
  if (factory === undefined) return { ok: false, error: `no contender named ${job.contender}` };
  const { workload } = job;
  const run = (fraction: number, warm: boolean): BenchReply => {
    const target = factory(workload);
    if (target === null) return { ok: false, unavailable: true };
    if (workload.kind === "churn") {
      const pairs = Math.floor(workload.churn.pairs * fraction);
      const slots = new Float64Array(workload.churn.live);
      if (warm) runChurn(workload.churn, target, slots, pairs);
      const start = process.hrtime.bigint();
      const failures = runChurn(workload.churn, target, slots, pairs);
      return { ok: true, nanoseconds: Number(process.hrtime.bigint() - start), units: pairs, failures };
    }
    const events = Math.floor(workload.trace.length * fraction);
    const address = new Float64Array(workload.trace.ids);
    if (warm) {
      replayTimed(workload.trace, target, address, events);
      // the blocks still live at the end of a trace stay allocated; forget them
      address.fill(0);
    }
    const start = process.hrtime.bigint();
    const failures = replayTimed(workload.trace, target, address, events);
    return { ok: true, nanoseconds: Number(process.hrtime.bigint() - start), units: events, failures };
  };
  const warmup = run(job.warmup, false);
  if (!warmup.ok) return warmup;
  return run(1, job.warm);
}

main().then(
  (reply) => parentPort!.postMessage(reply),
  (error: unknown) => parentPort!.postMessage({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
);
