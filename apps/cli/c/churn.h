/*
 * churn.h: the bench's synthetic churns, drawn in C as @tsmalloc/trace's churn() draws them, for
 * tsmalloc-replay.c and tsmalloc-threads.c. It includes common.h (for fail and xrealloc), so the
 * includer defines PROGRAM first, as common.h says.
 *
 * A churn is `live` slots filled first, then `pairs` steps, each freeing the block in slot
 * slots[i] and allocating sizes[i] in its place (churn.ts):
 *
 *   i:      0 .. live-1          live .. live+pairs-1
 *   sizes:  the first blocks     the block of step i
 *   slots:  0, 1, 2, ...         the slot step i replaces
 *
 * The draws are random.ts's mulberry32 and churn.ts's arithmetic, exactly: the PRNG in 32-bit
 * unsigned words; its result u / 2^32 and the products below are exact in a double, so floor()
 * gives what Math.floor() gives.
 */
#ifndef TSMALLOC_CHURN_H
#define TSMALLOC_CHURN_H

#include <math.h>

#include "common.h"

struct churn {
  uint32_t live;
  uint32_t pairs;
  uint32_t *sizes;
  uint32_t *slots;
};

static inline double next_random(uint32_t *state) {
  *state += 0x6d2b79f5u;
  uint32_t t = *state;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}

/* Draws churn(min_size, max_size, live, pairs, seed) into `c`; parameters out of range stop
 * with exit 2. */
static inline void draw_churn(uint64_t min_size, uint64_t max_size, uint64_t live, uint64_t pairs, uint64_t seed, struct churn *c) {
  if (min_size > max_size) fail(2, "--churn: MIN (%" PRIu64 ") is above MAX (%" PRIu64 ")", min_size, max_size);
  if (max_size > UINT32_MAX || live == 0 || live > UINT32_MAX || pairs > UINT32_MAX - live || seed > UINT32_MAX) fail(2, "--churn: MIN,MAX,LIVE,PAIRS,SEED must be integers below 2^32, LIVE at least 1");
  size_t n = (size_t)(live + pairs);
  c->live = (uint32_t)live;
  c->pairs = (uint32_t)pairs;
  c->sizes = xrealloc(NULL, n * sizeof *c->sizes);
  c->slots = xrealloc(NULL, n * sizeof *c->slots);
  uint32_t state = (uint32_t)seed;
  double span = (double)(max_size - min_size + 1);
  for (size_t i = 0; i < n; i++) {
    c->sizes[i] = (uint32_t)(min_size + (uint64_t)floor(next_random(&state) * span));
    c->slots[i] = i < live ? (uint32_t)i : (uint32_t)floor(next_random(&state) * (double)live);
  }
}

/* The churn's fingerprint: FNV-1a over the sizes' words, then the slots' (native-replayer.ts's
 * churnHash computes the same), so that the command line can say which sequence it expects. */
static inline uint32_t churn_hash(const struct churn *c) {
  uint32_t h = 2166136261u;
  size_t n = (size_t)c->live + c->pairs;
  for (size_t i = 0; i < n; i++) h = (h ^ c->sizes[i]) * 16777619u;
  for (size_t i = 0; i < n; i++) h = (h ^ c->slots[i]) * 16777619u;
  return h;
}

/*
 * The churn of `--churn MIN,MAX,LIVE,PAIRS,SEED` (`spec`), drawn into `c`; returns its hash. A bad
 * spec stops with exit 2; a hash other than `expected_hash` (`--churn-hash`, when not NULL) with
 * exit 1: the caller's sequence is not the one drawn here.
 */
static inline uint32_t read_churn(const char *spec, const char *expected_hash, struct churn *c) {
  uint64_t p[5];
  number_list("--churn", "MIN,MAX,LIVE,PAIRS,SEED", spec, 5, p);
  draw_churn(p[0], p[1], p[2], p[3], p[4], c);
  uint32_t hash = churn_hash(c);
  if (expected_hash != NULL && strtoul(expected_hash, NULL, 10) != hash) fail(1, "the churn %s draws the sequence %" PRIu32 ", not the %s the caller expects (this replayer's PRNG or the churn's parameters differ from @tsmalloc/trace's)", spec, hash, expected_hash);
  return hash;
}

#endif
