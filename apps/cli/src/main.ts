#!/usr/bin/env node
/*
 * The `tsmalloc` command. Everything is in cli.ts; this file runs it on the process's arguments
 * and sets the exit code (process.exitCode, so that the output is flushed first).
 */
import { run } from "./cli.ts";
import { processIo } from "./io.ts";

process.exitCode = await run(process.argv.slice(2), processIo());
