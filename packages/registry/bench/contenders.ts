/*
 * The contenders of the registry benchmark, each made fresh for every run (see @tsmalloc/testkit's
 * bench harness): pymalloc over malloc called directly, then the same heaps reached through a
 * runtime's OBJ entry points (one more call and the size limit test), through the package's
 * exported functions (the default runtime), and through MEM (large requests then go to malloc
 * through the RAW domain, as pymalloc's PyMem_RawMalloc calls do).
 */
import { Malloc } from "@tsmalloc/malloc";
import { LinearMemory } from "@tsmalloc/memory";
import { Pymalloc } from "@tsmalloc/pymalloc";
import { createRuntime, objCalloc, objFree, objMalloc, objRealloc, setDefaultRuntime } from "@tsmalloc/registry";
import type { BenchTarget, ContenderFactory } from "@tsmalloc/testkit";

class ObjDomain implements BenchTarget {
  readonly #runtime = createRuntime();
  malloc(size: number): number {
    return this.#runtime.objMalloc(size);
  }
  calloc(nelem: number, elsize: number): number {
    return this.#runtime.objCalloc(nelem, elsize);
  }
  realloc(p: number, size: number): number {
    return this.#runtime.objRealloc(p, size);
  }
  free(p: number): void {
    this.#runtime.objFree(p);
  }
}

class MemDomain implements BenchTarget {
  readonly #runtime = createRuntime();
  malloc(size: number): number {
    return this.#runtime.memMalloc(size);
  }
  calloc(nelem: number, elsize: number): number {
    return this.#runtime.memCalloc(nelem, elsize);
  }
  realloc(p: number, size: number): number {
    return this.#runtime.memRealloc(p, size);
  }
  free(p: number): void {
    this.#runtime.memFree(p);
  }
}

const exportedFunctions: BenchTarget = { malloc: objMalloc, calloc: objCalloc, realloc: objRealloc, free: objFree };

export const contenders: Record<string, ContenderFactory> = {
  "pymalloc direct": () => new Pymalloc(new Malloc(new LinearMemory())),
  "runtime.objMalloc": () => new ObjDomain(),
  "runtime.memMalloc": () => new MemDomain(),
  "objMalloc()": () => {
    setDefaultRuntime(createRuntime());
    return exportedFunctions;
  },
};
