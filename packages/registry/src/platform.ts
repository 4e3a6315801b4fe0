import type { DebugLayoutName } from "@tsmalloc/debug";
import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";
import { type PymallocLayoutName, type PymallocLayoutOptions, PymallocLayouts, resolveLayout } from "@tsmalloc/pymalloc";

/**
 * The platform models a runtime can follow (the `@tsmalloc/pymalloc` README, "Layouts and
 * platforms", says which CPython builds each stands for):
 *
 * | platform | pymalloc's default layout | debug hooks' layout |
 * |---|---|---|
 * | `"64-bit"` | `default` (16-byte alignment, 16 KiB pools, 1 MiB arenas, 48-byte pool headers) | `"64-bit"` (SST 8: 24 extra bytes a block) |
 * | `"wasm32"` | `wasm32` (8-byte alignment, 4 KiB pools, 256 KiB arenas, 32-byte pool headers) | `"wasm32"` (SST 4: 12 extra bytes a block) |
 */
export const PLATFORMS = ["64-bit", "wasm32"] as const;

/** One of the {@link PLATFORMS}. */
export type RuntimePlatform = (typeof PLATFORMS)[number];

/** True when `value` is one of the {@link PLATFORMS}. Never throws. */
export function isRuntimePlatform(value: unknown): value is RuntimePlatform {
  return value === "64-bit" || value === "wasm32";
}

/** What a runtime is built with once its platform is settled. @internal */
export interface PlatformPlan {
  readonly platform: RuntimePlatform;
  /** pymalloc's layout option: what was given, or the platform's preset. */
  readonly pymallocLayout: PymallocLayoutName | Partial<PymallocLayoutOptions>;
  /** The debug hooks' layout. */
  readonly debugLayout: DebugLayoutName;
}

/** The platform whose pointer size a pymalloc layout has. */
function platformOfPointerSize(pointerSize: number): RuntimePlatform {
  return pointerSize === 4 ? "wasm32" : "64-bit";
}

/**
 * Settles the platform of a new runtime: `platform` when given, else the one pymalloc's layout
 * implies (its pointer size: `pymalloc: { layout: "wasm32" }` alone makes a wasm32 runtime), else
 * `"64-bit"`; then pymalloc's layout (the platform's preset when none is given; a custom one
 * takes the platform's preset for what it leaves out) and the hooks' layout follow from it.
 *
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for a platform that is not one of
 *   {@link PLATFORMS}, or a pymalloc layout that is invalid or of the other platform
 * @internal
 */
export function planPlatform(platform: unknown, pymallocLayout: PymallocLayoutName | Partial<PymallocLayoutOptions> | undefined, fn: string): PlatformPlan {
  if (platform !== undefined && !isRuntimePlatform(platform)) {
    throw optionError(fn, `platform must be ${PLATFORMS.map((p) => `"${p}"`).join(" or ")}, got ${describeValue(platform)}`);
  }
  let layout = pymallocLayout;
  // a custom layout on a wasm32 runtime starts from the wasm32 preset, not the 64-bit default
  if (platform === "wasm32" && typeof layout === "object" && layout !== null) {
    const given = Object.fromEntries(Object.entries(layout).filter(([, value]) => value !== undefined));
    layout = { ...PymallocLayouts.wasm32, ...given };
  }
  let settled: RuntimePlatform;
  if (layout === undefined) {
    settled = platform ?? "64-bit";
    layout = settled === "wasm32" ? "wasm32" : "default";
  } else {
    let implied: RuntimePlatform;
    try {
      implied = platformOfPointerSize(resolveLayout(layout).pointerSize);
    } catch (error) {
      throw new TsmallocError(ErrorCode.InvalidOption, `${fn}: pymalloc options: ${(error as Error).message}`, { cause: error });
    }
    if (platform !== undefined && implied !== platform) {
      const shown = typeof pymallocLayout === "string" ? `"${pymallocLayout}"` : "(a custom layout)";
      throw optionError(fn, `pymalloc.layout ${shown} is a ${implied} layout (pointer size ${implied === "wasm32" ? 4 : 8}), but platform is "${platform}"`);
    }
    settled = implied;
  }
  return { platform: settled, pymallocLayout: layout, debugLayout: settled === "wasm32" ? "wasm32" : "64-bit" };
}

function optionError(fn: string, message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, `${fn}: ${message}`);
}
