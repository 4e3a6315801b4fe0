import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";

/**
 * The configuration names a runtime can be created with: CPython's `PYTHONMALLOC` values, with
 * the same meaning (case-sensitive). `"default"` is also what an unset or empty `TSMALLOC` means.
 *
 * | name | RAW | MEM | OBJ |
 * |---|---|---|---|
 * | `default` | malloc | pymalloc | pymalloc |
 * | `debug` | malloc + hooks | pymalloc + hooks | pymalloc + hooks |
 * | `malloc` | malloc | malloc | malloc |
 * | `malloc_debug` | malloc + hooks | malloc + hooks | malloc + hooks |
 * | `pymalloc` | malloc | pymalloc | pymalloc |
 * | `pymalloc_debug` | malloc + hooks | pymalloc + hooks | pymalloc + hooks |
 */
export const ALLOCATOR_CONFIGS = ["default", "debug", "malloc", "malloc_debug", "pymalloc", "pymalloc_debug"] as const;

/** One of the {@link ALLOCATOR_CONFIGS} names. */
export type AllocatorConfig = (typeof ALLOCATOR_CONFIGS)[number];

/**
 * What {@link Runtime.allocatorName} can answer: CPython's `_PyMem_GetCurrentAllocatorName()`
 * names. Never `"default"` or `"debug"`, which name a choice, not an installed set.
 */
export type AllocatorName = "malloc" | "pymalloc" | "malloc_debug" | "pymalloc_debug";

/**
 * Names CPython 3.13 accepts that this build cannot honour: there is no mimalloc-style allocator
 * in tsmalloc. They are refused with `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` and a message that says so.
 */
export const RESERVED_ALLOCATOR_CONFIGS: readonly string[] = ["mimalloc", "mimalloc_debug"];

/** The parts a configuration is made of. @internal */
export interface ConfigPlan {
  /** MEM and OBJ are served by pymalloc (else by the system malloc, like RAW). */
  readonly pymalloc: boolean;
  /** Debug hooks on all three domains. */
  readonly debug: boolean;
}

/** The plan of each configuration. @internal */
export function planOf(config: AllocatorConfig): ConfigPlan {
  switch (config) {
    case "malloc":
      return { pymalloc: false, debug: false };
    case "malloc_debug":
      return { pymalloc: false, debug: true };
    case "debug":
    case "pymalloc_debug":
      return { pymalloc: true, debug: true };
    default:
      return { pymalloc: true, debug: false };
  }
}

/** True when `value` is one of the {@link ALLOCATOR_CONFIGS} names. Never throws. */
export function isAllocatorConfig(value: unknown): value is AllocatorConfig {
  return typeof value === "string" && (ALLOCATOR_CONFIGS as readonly string[]).includes(value);
}

/**
 * Reads a configuration name as `TSMALLOC` does: `undefined` and `""` mean `"default"`; anything
 * else must be one of {@link ALLOCATOR_CONFIGS}, exactly (names are case-sensitive).
 *
 * @param source what the name came from, for the message: `"TSMALLOC"` or a function name
 * @returns the configuration name
 * @throws {@link TsmallocError} `ERR_TSMALLOC_UNKNOWN_ALLOCATOR` for any other value, with the
 *   message `<source>: unknown allocator "<value>"; expected one of default, debug, malloc,
 *   malloc_debug, pymalloc, pymalloc_debug` (the reserved `mimalloc` names get a message saying
 *   that this build has no mimalloc-style allocator)
 */
export function parseAllocatorConfig(value: unknown, source: string = "TSMALLOC"): AllocatorConfig {
  if (value === undefined || value === "") return "default";
  if (isAllocatorConfig(value)) return value;
  const expected = `expected one of ${ALLOCATOR_CONFIGS.join(", ")}`;
  if (typeof value === "string" && RESERVED_ALLOCATOR_CONFIGS.includes(value)) {
    throw new TsmallocError(
      ErrorCode.UnknownAllocator,
      `${source}: allocator "${value}" is not available: this build of tsmalloc has no mimalloc-style allocator; ${expected}`,
    );
  }
  const shown = typeof value === "string" ? `"${value}"` : describeValue(value);
  throw new TsmallocError(ErrorCode.UnknownAllocator, `${source}: unknown allocator ${shown}; ${expected}`);
}
