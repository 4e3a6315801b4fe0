import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DebugCorruptionError } from "@tsmalloc/debug";
import { instantiate } from "@tsmalloc/wasm";
import { compileC } from "@tsmalloc/wasm/compile";

// A C program with a classic bug: the block has no room for the string's terminating NUL.
const dir = mkdtempSync(join(tmpdir(), "tsmalloc-greet-"));
writeFileSync(
  join(dir, "greet.c"),
  `#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "world";
  char *greeting = malloc(strlen("hello, ") + strlen(name)); /* one byte short */
  sprintf(greeting, "hello, %s", name);
  puts(greeting);
  free(greeting);
  return 0;
}
`,
);

// clang --target=wasm32-wasi -O2 greet.c tsmalloc-shim.c -Wl,--import-memory -Wl,--export=__heap_base
compileC({ sources: [join(dir, "greet.c")], output: join(dir, "greet.wasm") });
const bytes = readFileSync(join(dir, "greet.wasm"));

// On CPython's default configuration (pymalloc over malloc) the NUL lands in the block's padding.
const quiet = await instantiate(bytes, { allocator: "default", wasi: { args: ["greet", "tsmalloc"] } });
console.log(`exit status ${quiet.start()}`);
console.log(`its data and stack: the first ${quiet.memory.base / 65536} pages; tsmalloc's heap: the pages after them`);

// Under CPython's debug hooks, free() checks the guard bytes after the block and stops the program.
const checked = await instantiate(bytes, { allocator: "pymalloc_debug", wasi: { args: ["greet", "tsmalloc"] } });
try {
  checked.start();
} catch (error) {
  if (!(error instanceof DebugCorruptionError)) throw error;
  console.log(error.message);
  for (const line of error.report.split("\n")) if (/requested|OUCH|^Fatal/.test(line)) console.log(line);
}
