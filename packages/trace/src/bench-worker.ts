/*
 * One benchmark run, in a worker of its own (see bench-harness.ts). It warms the JIT up on a part
 * of the workload (a tenth, unless the case says otherwise) with a throw-away target, then times
 * the whole workload on a fresh target (after one untimed pass over it when the case asks for a
 * warm target: the pass frees what it leaves live, so the timed pass starts on an empty heap whose
 * pages are already faulted in, as a native replayer's second replay does).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { BenchReply, BenchWorkload, ContenderFactory } from "./bench-harness.ts";
import { runChurn } from "./churn.ts";
import { TimedReplay } from "./timed-replay.ts";

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
    if (warm) {
      const pass = new TimedReplay(workload.trace, target);
      pass.run(events);
      // the blocks still live at the end of the warm pass are freed, untimed
      for (let id = 0; id < workload.trace.ids; id++) {
        const p = pass.addressOf(id);
        if (p !== 0) target.free(p);
      }
    }
    const replay = new TimedReplay(workload.trace, target);
    const start = process.hrtime.bigint();
    const failures = replay.run(events);
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
