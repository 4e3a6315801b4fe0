/*
 * One benchmark run in a worker of its own (see bench/run.ts and bench/jobs.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { type Job, runJob } from "./jobs.ts";

runJob(workerData as Job).then((reply) => parentPort!.postMessage(reply));
