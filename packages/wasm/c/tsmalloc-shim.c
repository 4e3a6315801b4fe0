/*
 * tsmalloc-shim.c: the malloc family of a wasm32 program, served by a tsmalloc runtime.
 *
 * Each function here is a thin call to a function the module imports from "tsmalloc", which
 * @tsmalloc/wasm's allocatorImports() provides (see tsmalloc.h). Defining malloc, calloc, realloc,
 * free, aligned_alloc, posix_memalign, malloc_usable_size and the __libc_* names that wasi-libc
 * uses internally keeps the linker from pulling wasi-libc's dlmalloc in at all; sbrk() is defined
 * too, and refuses, because the pages past __heap_base belong to tsmalloc.
 *
 * What crosses the boundary: a size_t or a pointer is an i32 on wasm32, which JavaScript receives
 * as a signed number and reads back as unsigned (`>>> 0`); a pointer returned by JavaScript is
 * stored into an i32 with the same bits. NULL is 0 both ways. free(NULL) and
 * malloc_usable_size(NULL) stay on this side.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tsmalloc.h"

#define TSMALLOC_IMPORT(name) __attribute__((import_module("tsmalloc"), import_name(#name)))

TSMALLOC_IMPORT(malloc) void *tsmalloc_malloc(size_t size);
TSMALLOC_IMPORT(calloc) void *tsmalloc_calloc(size_t nelem, size_t elsize);
TSMALLOC_IMPORT(realloc) void *tsmalloc_realloc(void *ptr, size_t size);
TSMALLOC_IMPORT(free) void tsmalloc_free(void *ptr);
TSMALLOC_IMPORT(aligned_alloc) void *tsmalloc_aligned_alloc(size_t alignment, size_t size);
TSMALLOC_IMPORT(usable_size) size_t tsmalloc_usable_size(void *ptr);

TSMALLOC_IMPORT(raw_malloc) void *tsmalloc_raw_malloc(size_t size);
TSMALLOC_IMPORT(raw_calloc) void *tsmalloc_raw_calloc(size_t nelem, size_t elsize);
TSMALLOC_IMPORT(raw_realloc) void *tsmalloc_raw_realloc(void *ptr, size_t size);
TSMALLOC_IMPORT(raw_free) void tsmalloc_raw_free(void *ptr);
TSMALLOC_IMPORT(mem_malloc) void *tsmalloc_mem_malloc(size_t size);
TSMALLOC_IMPORT(mem_calloc) void *tsmalloc_mem_calloc(size_t nelem, size_t elsize);
TSMALLOC_IMPORT(mem_realloc) void *tsmalloc_mem_realloc(void *ptr, size_t size);
TSMALLOC_IMPORT(mem_free) void tsmalloc_mem_free(void *ptr);
TSMALLOC_IMPORT(obj_malloc) void *tsmalloc_obj_malloc(size_t size);
TSMALLOC_IMPORT(obj_calloc) void *tsmalloc_obj_calloc(size_t nelem, size_t elsize);
TSMALLOC_IMPORT(obj_realloc) void *tsmalloc_obj_realloc(void *ptr, size_t size);
TSMALLOC_IMPORT(obj_free) void tsmalloc_obj_free(void *ptr);

/* The end of the module's data and stack: wasm-ld defines it. */
extern unsigned char __heap_base;

/* ---- The C library's functions ------------------------------------------------------------- */

void *malloc(size_t size) {
  void *p = tsmalloc_malloc(size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

void *calloc(size_t nelem, size_t elsize) {
  /* nelem * elsize is computed in JavaScript, without wrapping: an overflow returns NULL */
  void *p = tsmalloc_calloc(nelem, elsize);
  if (p == NULL) errno = ENOMEM;
  return p;
}

void *realloc(void *ptr, size_t size) {
  /* realloc(p, 0) keeps a zero-sized block, as CPython's PyMem_Realloc does; free it as usual */
  void *p = tsmalloc_realloc(ptr, size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

void free(void *ptr) {
  if (ptr != NULL) tsmalloc_free(ptr);
}

/* C11: NULL and EINVAL unless the alignment is a power of two (any size is accepted, as C17 does). */
void *aligned_alloc(size_t alignment, size_t size) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    errno = EINVAL;
    return NULL;
  }
  void *p = tsmalloc_aligned_alloc(alignment, size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

/* POSIX: EINVAL unless the alignment is a power of two multiple of sizeof(void *); ENOMEM when
 * there is no memory; *memptr is set only on success, and errno is left alone. */
int posix_memalign(void **memptr, size_t alignment, size_t size) {
  if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void *p = tsmalloc_aligned_alloc(alignment, size);
  if (p == NULL) return ENOMEM;
  *memptr = p;
  return 0;
}

size_t malloc_usable_size(void *ptr) {
  return ptr == NULL ? 0 : tsmalloc_usable_size(ptr);
}

/* wasi-libc's own code (atexit, locales) calls these names; without them dlmalloc is linked. */
void *__libc_malloc(size_t size) { return malloc(size); }
void *__libc_calloc(size_t nelem, size_t elsize) { return calloc(nelem, elsize); }
void __libc_free(void *ptr) { free(ptr); }

/* The memory past __heap_base is tsmalloc's: the break never moves. */
void *sbrk(intptr_t increment) {
  if (increment == 0) return &__heap_base;
  errno = ENOMEM;
  return (void *)-1;
}

/* ---- CPython's domains --------------------------------------------------------------------- */

void *PyMem_RawMalloc(size_t size) { return tsmalloc_raw_malloc(size); }
void *PyMem_RawCalloc(size_t nelem, size_t elsize) { return tsmalloc_raw_calloc(nelem, elsize); }
void *PyMem_RawRealloc(void *ptr, size_t new_size) { return tsmalloc_raw_realloc(ptr, new_size); }
void PyMem_RawFree(void *ptr) {
  if (ptr != NULL) tsmalloc_raw_free(ptr);
}

void *PyMem_Malloc(size_t size) { return tsmalloc_mem_malloc(size); }
void *PyMem_Calloc(size_t nelem, size_t elsize) { return tsmalloc_mem_calloc(nelem, elsize); }
void *PyMem_Realloc(void *ptr, size_t new_size) { return tsmalloc_mem_realloc(ptr, new_size); }
void PyMem_Free(void *ptr) {
  if (ptr != NULL) tsmalloc_mem_free(ptr);
}

void *PyObject_Malloc(size_t size) { return tsmalloc_obj_malloc(size); }
void *PyObject_Calloc(size_t nelem, size_t elsize) { return tsmalloc_obj_calloc(nelem, elsize); }
void *PyObject_Realloc(void *ptr, size_t new_size) { return tsmalloc_obj_realloc(ptr, new_size); }
void PyObject_Free(void *ptr) {
  if (ptr != NULL) tsmalloc_obj_free(ptr);
}
