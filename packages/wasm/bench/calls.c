/*
 * The benchmark's probe of one call across the boundary (a WASI reactor: bench/run.ts calls its
 * exports). Built twice, as the examples are: with c/tsmalloc-shim.c, so that malloc and free are
 * imports, and with wasi-libc's dlmalloc inside the module.
 */
#include <stdint.h>
#include <stdlib.h>

/* An import that does nothing: the bare cost of calling out of the module. */
__attribute__((import_module("bench"), import_name("nothing"))) void bench_nothing(uint32_t value);

/* A call that stays inside the module (not inlined): the cost of a call as such. */
__attribute__((noinline)) static void local_nothing(uint32_t value) { __asm__ volatile("" : : "r"(value)); }

__attribute__((export_name("import_calls"))) void import_calls(uint32_t n) {
  for (uint32_t i = 0; i < n; i++) bench_nothing(i);
}

__attribute__((export_name("local_calls"))) void local_calls(uint32_t n) {
  for (uint32_t i = 0; i < n; i++) local_nothing(i);
}

/* n malloc/free pairs of `size` bytes, 64 blocks live at a time (a small, hot working set). */
__attribute__((export_name("pairs"))) uint32_t pairs(uint32_t n, uint32_t size) {
  void *live[64] = {0};
  uint32_t failed = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t slot = (i * 2654435761u) >> 26;
    free(live[slot]);
    live[slot] = malloc(size);
    if (live[slot] == NULL) failed++;
  }
  for (uint32_t slot = 0; slot < 64; slot++) free(live[slot]);
  return failed;
}
