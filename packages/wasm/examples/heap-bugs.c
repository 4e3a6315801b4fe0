/*
 * heap-bugs: two classic heap bugs, on purpose, for CPython's debug hooks to catch.
 *
 *     heap-bugs overflow          an 11-byte strcpy into a 10-byte block, then free()
 *     heap-bugs use-after-free    a block freed while a second pointer to it lives on, read
 *                                 through that pointer, then freed again through it
 *
 * Without debug hooks the overflow goes unnoticed (the byte lands in the block's padding) and the
 * program ends normally; under TSMALLOC=pymalloc_debug (or malloc_debug, debug) free() checks the
 * guard bytes around the block and stops the program with CPython's report. The use after free
 * reads the bytes the hooks wrote over the freed block (0xDD, DEADBYTE), and its second free is
 * refused by every configuration: the hooks see the dead header (a bad API id), the allocators
 * without hooks a block that is not live.
 *
 * With tracemalloc tracing the runtime, the overflow's report ends with where the block was
 * allocated: overflow(), called from main. Each bug is a function of its own (noinline: at -O2
 * clang would fold it into main), so that the traceback names it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static int overflow(void) {
  char *name = malloc(10);
  if (name == NULL) return 1;
  strcpy(name, "tsmalloc!!"); /* 10 characters and the terminating NUL: one byte too many */
  printf("copied \"%s\" into a 10-byte block\n", name);
  fflush(stdout);
  free(name); /* the debug hooks check the block's guard bytes here */
  puts("freed it; nobody noticed");
  return 0;
}

__attribute__((noinline)) static int use_after_free(void) {
  char *greeting = malloc(16);
  if (greeting == NULL) return 1;
  strcpy(greeting, "hello, heap");
  char *alias = greeting; /* a second owner the code forgot about */
  free(greeting);
  printf("after free, the alias reads %02x %02x %02x %02x\n", (unsigned char)alias[0], (unsigned char)alias[1],
         (unsigned char)alias[2], (unsigned char)alias[3]);
  fflush(stdout);
  free(alias); /* freed a second time */
  puts("freed it twice; nobody noticed");
  return 0;
}

int main(int argc, char **argv) {
  const char *bug = argc > 1 ? argv[1] : "";
  if (strcmp(bug, "overflow") == 0) return overflow();
  if (strcmp(bug, "use-after-free") == 0) return use_after_free();
  fputs("usage: heap-bugs overflow|use-after-free\n", stderr);
  return 2;
}
