/*
 * `--module PATH`: replay through an allocator of your own. The module's default export is a
 * function that gets the runtime's memory, the MEM allocator of the configuration and the runtime,
 * and returns the Allocator that will serve MEM instead (CPython's PyMem_SetAllocator(MEM, ...)):
 *
 *   export default function createAllocator({ memory, mem, runtime }) {
 *     return { name: "counting", memory, malloc: (n) => ..., calloc, realloc, free };
 *   }
 *
 * It may wrap `mem` (a hook, in the manner of tracemalloc) or allocate on its own from `memory`.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Allocator, describeValue, type LinearMemory } from "@tsmalloc/memory";
import { Domain, type Runtime } from "@tsmalloc/registry";
import { CliError, messageOf } from "./errors.ts";

/** What a `--module` allocator factory is given. */
export interface AllocatorModuleContext {
  /** The memory every domain allocates from. */
  readonly memory: LinearMemory;
  /** The MEM allocator the configuration installed (what the returned allocator replaces). */
  readonly mem: Allocator;
  /** The runtime, for anything else (its RAW domain, its heaps). */
  readonly runtime: Runtime;
}

/** A `--module`'s default export. */
export type AllocatorFactory = (context: AllocatorModuleContext) => Allocator;

/** A loaded `--module`. */
export interface AllocatorModule {
  /** The path as given. */
  readonly path: string;
  readonly create: AllocatorFactory;
}

/**
 * Imports the module at `path` (relative to the working directory).
 * @throws CliError (exit 2) when the file is missing, fails to load, or its default export is not a function
 */
export async function loadAllocatorModule(path: string): Promise<AllocatorModule> {
  const file = resolve(path);
  if (!existsSync(file)) throw new CliError(`cannot load module ${path}: no such file`);
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as { default?: unknown };
  } catch (error) {
    throw new CliError(`cannot load module ${path}: ${firstLine(messageOf(error))}`);
  }
  const create = loaded.default;
  if (typeof create !== "function") {
    throw new CliError(`module ${path}: the default export must be a function ({ memory, mem, runtime }) => Allocator, got ${describeValue(create)}`);
  }
  return { path, create: create as AllocatorFactory };
}

/**
 * Makes the module's allocator for `runtime` and installs it on MEM.
 * @throws CliError (exit 2) when the factory throws or returns something the runtime refuses
 */
export function installAllocatorModule(module: AllocatorModule, runtime: Runtime): void {
  let allocator: Allocator;
  try {
    allocator = module.create({ memory: runtime.memory, mem: runtime.getAllocator(Domain.MEM), runtime });
  } catch (error) {
    throw new CliError(`module ${module.path}: its factory threw: ${firstLine(messageOf(error))}`);
  }
  try {
    runtime.setAllocator(Domain.MEM, allocator);
  } catch (error) {
    throw new CliError(`module ${module.path}: ${firstLine(messageOf(error))}`);
  }
}

function firstLine(text: string): string {
  return text.split("\n", 1)[0]!;
}
