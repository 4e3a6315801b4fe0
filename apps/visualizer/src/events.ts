import { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC, type Trace } from "@tsmalloc/trace/browser";

/**
 * Event `event` (numbered from 1) of `trace` as its line in the trace file and as the call it
 * stands for: `a 17 32  malloc(32) -> #17` (`#17` is block 17). Returns "" for a number outside
 * the trace.
 */
export function describeEvent(trace: Trace, event: number): string {
  if (!Number.isInteger(event) || event < 1 || event > trace.length) return "";
  const i = event - 1;
  const id = trace.id[i]!;
  const arg = trace.arg[i]!;
  const size = trace.size[i]!;
  switch (trace.op[i]) {
    case OP_MALLOC:
      return `a ${id} ${size}  malloc(${size}) -> #${id}`;
    case OP_CALLOC:
      return `c ${id} ${arg} ${size}  calloc(${arg}, ${size}) -> #${id}`;
    case OP_REALLOC:
      return `r ${arg} ${id} ${size}  realloc(#${arg}, ${size}) -> #${id}`;
    case OP_FREE:
      return `f ${id}  free(#${id})`;
    case OP_MEMALIGN:
      return `m ${id} ${arg} ${size}  posix_memalign(${arg}, ${size}) -> #${id}`;
    default:
      return "";
  }
}
