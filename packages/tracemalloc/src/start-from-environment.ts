/*
 * The package's one effect on import: TSMALLOC_TRACEMALLOC=N starts tracing the default runtime
 * with N frames, as PYTHONTRACEMALLOC=N does at CPython's start-up. Importing the package early
 * (a static import, or `node --import @tsmalloc/tracemalloc app.js`) traces from the start. A bad
 * value makes the import throw, as CPython refuses to start.
 */
import { startFromEnvironment } from "./environment.ts";

startFromEnvironment();
