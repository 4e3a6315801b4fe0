/*
 * tsmalloc.h: the C side of @tsmalloc/wasm.
 *
 * Compile tsmalloc-shim.c with your program for wasm32-wasi, importing the memory:
 *
 *     clang --target=wasm32-wasi -O2 prog.c tsmalloc-shim.c \
 *         -Wl,--import-memory -Wl,--export=__heap_base -o prog.wasm
 *
 * and the program's malloc family is served by a tsmalloc runtime in JavaScript (`instantiate()`
 * from @tsmalloc/wasm). The shim defines the C library's allocation functions (malloc, calloc,
 * realloc, free, aligned_alloc, posix_memalign, malloc_usable_size) as calls to functions the
 * module imports from "tsmalloc", so wasi-libc's own dlmalloc is not linked; and the entry points
 * of CPython's allocator domains under their CPython names, for code written against CPython's API:
 *
 *     PyMem_RawMalloc ... PyMem_RawFree    the RAW domain (thread-safe, any thread)
 *     PyMem_Malloc    ... PyMem_Free       the MEM domain
 *     PyObject_Malloc ... PyObject_Free    the OBJ domain
 *
 * The standard functions go to the domain `instantiate()` was given (MEM by default). Under a
 * `_debug` configuration every block carries CPython's guard bytes, and a heap overflow or a use
 * after free in the C code stops the program at the next free or realloc with CPython's report.
 *
 * Sizes are size_t, 32 bits on wasm32; requests over PY_SSIZE_T_MAX (2^31 - 1) return NULL, as in
 * CPython. The standard functions set errno to ENOMEM when they return NULL for want of memory.
 *
 * Memory layout (one WebAssembly.Memory, imported by the module):
 *
 *     0         1024 (wasm-ld's global base)      __heap_base     next 64 KiB page
 *     | unused  | data, bss, shadow stack ...     | (rounding) |  tsmalloc: header, region table,
 *     |         | (the module's own)              |            |  heap segments, arenas ... grows
 *
 * The module must not grow the memory by itself: the shim's sbrk() refuses to, since the pages
 * past __heap_base belong to tsmalloc's region allocator.
 */
#ifndef TSMALLOC_H
#define TSMALLOC_H

#include <stddef.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The standard functions (C11, POSIX, glibc's malloc_usable_size), served by the runtime's
 * domain for C (MEM unless instantiate() was told otherwise). stdlib.h declares the first five. */
size_t malloc_usable_size(void *ptr);

/* PyMem_RawMalloc and friends: the RAW domain. */
void *PyMem_RawMalloc(size_t size);
void *PyMem_RawCalloc(size_t nelem, size_t elsize);
void *PyMem_RawRealloc(void *ptr, size_t new_size);
void PyMem_RawFree(void *ptr);

/* PyMem_Malloc and friends: the MEM domain. */
void *PyMem_Malloc(size_t size);
void *PyMem_Calloc(size_t nelem, size_t elsize);
void *PyMem_Realloc(void *ptr, size_t new_size);
void PyMem_Free(void *ptr);

/* PyObject_Malloc and friends: the OBJ domain. */
void *PyObject_Malloc(size_t size);
void *PyObject_Calloc(size_t nelem, size_t elsize);
void *PyObject_Realloc(void *ptr, size_t new_size);
void PyObject_Free(void *ptr);

/* CPython's typed conveniences over the MEM domain (pymem.h). NULL when n * sizeof(type) would
 * exceed PY_SSIZE_T_MAX. */
#define TSMALLOC_SSIZE_MAX ((size_t)0x7fffffff)
#define PyMem_New(type, n) \
  ((size_t)(n) > TSMALLOC_SSIZE_MAX / sizeof(type) ? NULL : (type *)PyMem_Malloc((n) * sizeof(type)))
#define PyMem_Resize(p, type, n) \
  ((p) = ((size_t)(n) > TSMALLOC_SSIZE_MAX / sizeof(type)) ? NULL : (type *)PyMem_Realloc((p), (n) * sizeof(type)))
#define PyMem_Del PyMem_Free

#ifdef __cplusplus
}
#endif

#endif /* TSMALLOC_H */
