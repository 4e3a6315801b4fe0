/*
 * The allocators `tsmalloc bench` can set against each other. The benchmark harness imports this
 * module in every worker and calls `contenders[name](workload)` for a fresh target per run: a
 * configuration's MEM domain on a fresh runtime, or one of the peers a JavaScript user would pick.
 */
import { ALLOCATOR_CONFIGS, createRuntime, Domain } from "@tsmalloc/registry";
import { domainTarget } from "@tsmalloc/trace";
import { type ContenderFactory, ThingPoolTarget, TypedArraysTarget } from "@tsmalloc/trace/bench";
import { MEM_ALIGNMENT } from "./load.ts";

/** The peers a JavaScript user would pick instead, by the name `--allocators` takes. */
export const PEER_NAMES: readonly string[] = ["thi.ng/malloc", "uint8array"];

/** The columns of `tsmalloc bench` when `--allocators` is not given. */
export const DEFAULT_CONTENDERS: readonly string[] = ["default", "malloc", "pymalloc_debug", "thi.ng/malloc", "uint8array"];

/** Every name `--allocators` takes: tsmalloc's configurations, then the peers. */
export const CONTENDER_NAMES: readonly string[] = [...ALLOCATOR_CONFIGS, ...PEER_NAMES];

const configurations: Record<string, ContenderFactory> = Object.fromEntries(
  ALLOCATOR_CONFIGS.map((config) => [config, () => domainTarget(createRuntime({ allocator: config }), Domain.MEM, { alignment: MEM_ALIGNMENT })]),
);

/** A fresh target of each contender, by name: what the bench workers call. */
export const contenders: Record<string, ContenderFactory> = {
  ...configurations,
  "thi.ng/malloc": () => new ThingPoolTarget(),
  uint8array: () => new TypedArraysTarget(),
};
