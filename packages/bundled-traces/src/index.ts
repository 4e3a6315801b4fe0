export { bundledTraceMeta, bundledTracePath, type TraceMeta, UnknownTraceError } from "./bundled-traces.ts";
export { BUNDLED_TRACES, type BundledTrace, type BundledTraceInfo, isBundledTrace } from "./info.ts";
