export {
  DEFAULT_MMAP_THRESHOLD,
  DEFAULT_SEGMENT_SIZE,
  MAX_ALIGNMENT,
  Malloc,
  type MallocOptions,
} from "./malloc.ts";
export type { MallocStats } from "./stats.ts";
