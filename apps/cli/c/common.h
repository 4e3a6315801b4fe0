/*
 * common.h: what the command's C benchmark programs share (tsmalloc-replay.c, tsmalloc-threads.c):
 * the one-line error, a realloc that cannot fail, the monotonic clock, the one-byte touch of a new
 * block, and whole numbers from the command line.
 *
 * The includer defines PROGRAM, the program's name that starts each message, before it includes
 * this file (and _GNU_SOURCE first, if it wants it):
 *
 *   #define PROGRAM "tsmalloc-replay"
 *   #include "common.h"
 *
 * Everything here is static: each program gets its own copy, and the build key (c-build.ts's
 * cSourceText) covers this file, so that a change here builds both programs again.
 */
#ifndef TSMALLOC_COMMON_H
#define TSMALLOC_COMMON_H

#ifndef PROGRAM
#error "define PROGRAM, the program's name for its messages, before including common.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Writes `PROGRAM: message` and a newline on stderr, whole (flockfile: a line from another thread
 * failing at the same time comes before or after it, never inside). */
static inline void error_line(const char *format, va_list args) {
  flockfile(stderr);
  fputs(PROGRAM ": ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  funlockfile(stderr);
}

/* The one-line error, then exit(status): 2 for a bad command line, 1 for a failure at run time. */
static inline void fail(int status, const char *format, ...) __attribute__((noreturn, format(printf, 2, 3)));

static inline void fail(int status, const char *format, ...) {
  va_list args;
  va_start(args, format);
  error_line(format, args);
  va_end(args);
  exit(status);
}

static inline void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n);
  if (q == NULL) fail(1, "out of memory reading the workload (%zu bytes)", n);
  return q;
}

/* Nanoseconds on CLOCK_MONOTONIC (the same clock in every thread). */
static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The one-byte touch of a new block, so that its memory is really handed out (a block that is
 * never written costs a lazy allocator nothing); volatile: the compiler must keep it. */
#define TOUCH(p) (*(volatile char *)(p) = 1)

/* An option's value as a whole number in [min, max]; anything else stops with exit 2, the message
 * saying the range (`at least MIN` when max is UINT64_MAX). */
static inline uint64_t whole_number(const char *option, const char *text, uint64_t min, uint64_t max) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
    if (max == UINT64_MAX) fail(2, "%s must be a whole number of at least %" PRIu64 ", got \"%s\"", option, min, text);
    fail(2, "%s must be a whole number from %" PRIu64 " to %" PRIu64 ", got \"%s\"", option, min, max, text);
  }
  return v;
}

/* An option's value as `count` whole numbers separated by commas (`fields` names them, as
 * "MIN,MAX,LIVE,PAIRS,SEED"), into `values`; anything else stops with exit 2. */
static inline void number_list(const char *option, const char *fields, const char *text, int count, uint64_t *values) {
  static const char *const words[] = {"no", "one", "two", "three", "four", "five", "six"};
  const char *at = text;
  for (int k = 0; k < count; k++) {
    char *end;
    errno = 0;
    values[k] = strtoull(at, &end, 10);
    if (*at < '0' || *at > '9' || errno != 0 || *end != (k < count - 1 ? ',' : '\0')) {
      fail(2, "%s must be %s (%s whole numbers), got \"%s\"", option, fields, count < 7 ? words[count] : "several", text);
    }
    at = end + 1;
  }
}

#endif
