/*
 * The allocators `tsmalloc bench` can set against each other. The benchmark harness imports this
 * module in every worker and calls `contenders[name](workload)` for a fresh target per run: a
 * configuration's MEM domain on a fresh runtime, one of the peers a JavaScript user would pick, or
 * the empty allocator. The native columns run outside the workers (native-replayer.ts).
 */
import { ALLOCATOR_CONFIGS, createRuntime, Domain } from "@tsmalloc/registry";
import { domainTarget } from "@tsmalloc/trace";
import { type ContenderFactory, ThingPoolTarget, TypedArraysTarget } from "@tsmalloc/trace/bench";
import { EmptyTarget } from "./empty-target.ts";
import { MEM_ALIGNMENT } from "./load.ts";

/** The peers a JavaScript user would pick instead, by the name `--allocators` takes. */
export const PEER_NAMES: readonly string[] = ["thi.ng/malloc", "uint8array"];

/**
 * The native columns: c/tsmalloc-replay.c through glibc's malloc, through mimalloc, and through
 * its empty allocator, each run as a program of its own (native-replayer.ts), not in a worker.
 */
export const NATIVE_NAMES: readonly string[] = ["glibc", "mimalloc", "empty-c"];

/**
 * The columns of `tsmalloc bench` when `--allocators` is not given (the native ones that cannot
 * be built here are left out, with a line that says why).
 */
export const DEFAULT_CONTENDERS: readonly string[] = ["default", "malloc", "pymalloc_debug", "glibc", "mimalloc", "thi.ng/malloc", "uint8array", "empty", "empty-c"];

/** The names the bench workers build a target for: tsmalloc's configurations, the peers, the empty allocator. */
export const WORKER_CONTENDER_NAMES: readonly string[] = [...ALLOCATOR_CONFIGS, ...PEER_NAMES, "empty"];

/** Every name `--allocators` takes: the workers' contenders, then the native columns. */
export const CONTENDER_NAMES: readonly string[] = [...WORKER_CONTENDER_NAMES, ...NATIVE_NAMES];

const configurations: Record<string, ContenderFactory> = Object.fromEntries(
  ALLOCATOR_CONFIGS.map((config) => [config, () => domainTarget(createRuntime({ allocator: config }), Domain.MEM, { alignment: MEM_ALIGNMENT })]),
);

/** A fresh target of each of {@link WORKER_CONTENDER_NAMES}, by name: what the bench workers call. */
export const contenders: Record<string, ContenderFactory> = {
  ...configurations,
  "thi.ng/malloc": () => new ThingPoolTarget(),
  uint8array: () => new TypedArraysTarget(),
  empty: () => new EmptyTarget(),
};
