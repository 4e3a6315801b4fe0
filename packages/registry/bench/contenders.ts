/*
 * The contenders of the registry benchmark, each made fresh for every run (see @tsmalloc/trace's
 * bench harness): pymalloc over malloc called directly, then the same heaps reached through a
 * runtime's OBJ entry points (one more call and the size limit test), through the package's
 * exported functions (the default runtime), and through MEM (large requests then go to malloc
 * through the RAW domain, as pymalloc's PyMem_RawMalloc calls do). A runtime's domain is the
 * replay target @tsmalloc/trace makes of it (domainTarget), as `tsmalloc bench` uses.
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { createRuntime, Domain, objCalloc, objFree, objMalloc, objRealloc, setDefaultRuntime } from "@tsmalloc/registry";
import type { ContenderFactory, ReplayTarget } from "@tsmalloc/testkit";
import { domainTarget } from "@tsmalloc/trace";

const exportedFunctions: ReplayTarget = { malloc: objMalloc, calloc: objCalloc, realloc: objRealloc, free: objFree };

export const contenders: Record<string, ContenderFactory> = {
  "pymalloc direct": () => new Pymalloc(new Malloc(new LinearMemory())),
  "runtime.objMalloc": () => domainTarget(createRuntime(), Domain.OBJ),
  "runtime.memMalloc": () => domainTarget(createRuntime(), Domain.MEM),
  "objMalloc()": () => {
    setDefaultRuntime(createRuntime());
    return exportedFunctions;
  },
};
