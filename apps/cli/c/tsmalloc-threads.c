/*
 * tsmalloc-threads: the native twin of `tsmalloc bench --workers N` (@tsmalloc/trace's
 * threads-bench.ts and threads-bench-worker.ts). The same three shapes of work, with the same
 * parameters and method, run by pthreads through the C library's malloc and free, or through
 * mimalloc's (in the build with -DTSMALLOC_THREADS_MIMALLOC, linked with -lmimalloc), so that the
 * workers' figures can be set against what native allocators get on the same machine. One run per
 * process (the command starts one per run, as it starts fresh workers for each); it prints the run
 * as one JSON line.
 *
 *   tsmalloc-threads [--allocator libc|mimalloc] [--threads N] [--check]
 *                    (--churn MIN,MAX,LIVE,PAIRS,SEED [--churn-hash H]
 *                     | --remote-free BLOCKS,ROUNDS,MIN,MAX | --pipeline BLOCKS,MIN,MAX)
 *
 *   cc -O2 -pthread -o tsmalloc-threads tsmalloc-threads.c -lm
 *   cc -O2 -pthread -DTSMALLOC_THREADS_MIMALLOC -o tsmalloc-threads-mimalloc tsmalloc-threads.c -lm -lmimalloc
 *
 * Each thread reads CLOCK_MONOTONIC, the clock all of them share. Each warms up first, then waits
 * at a gate that opens when the last one arrives (they spin on a counter, so that they start
 * together), then does its timed work. Every new block gets a one-byte touch (common.h's TOUCH),
 * as in tsmalloc-replay: a block that is never written costs a lazy allocator nothing.
 *
 * churn (--threads N, 1 to 64, default 1): @tsmalloc/trace's churn, drawn once before any thread
 * starts (churn.h; --churn-hash checked as tsmalloc-replay checks it) and read by every thread,
 * each with its own slots. A run's time is from the first thread's start to the last one's end.
 *
 *   thread 0:  warm-up: PAIRS/10 pairs | gate | fill LIVE, PAIRS pairs, free the live |
 *   thread 1:  warm-up: PAIRS/10 pairs    | gate | fill LIVE, PAIRS pairs, free the live |
 *                                                ^ first start                  last end ^
 *   "ns": (last end - first start) / (PAIRS x N), per pair of all the threads' pairs
 *
 * remote free (2 threads): rounds. Thread 0 makes BLOCKS blocks and hands them over; thread 1
 * makes BLOCKS of its own, then frees its own and then thread 0's, each set timed (in odd rounds
 * thread 0's first, so that neither set is always the one freed first). The blocks are few enough
 * to stay in the caches: a local free is no cache miss, and a remote one is the allocator's work
 * plus the transfer of the other core's lines. Round 0 (it warms the heaps) is not counted; each
 * figure is the median over the other rounds, so that a round in which a thread was descheduled
 * does not count. Thread 0 makes a round's blocks once thread 1 is done with the last round's:
 * they go in the same array.
 *
 *              round 0 (not counted)                        round 1
 *   thread 0:  malloc n, hand over --.                   .-> malloc n, hand over --.
 *   thread 1:  malloc n  (waits) <---' own | 0's | done -'   malloc n  (waits) <---' 0's | own | done
 *                                          local remote                                remote local
 *   "localNs", "remoteNs": the median round's time for each set / BLOCKS, per free (n = BLOCKS)
 *
 * pipeline (2 threads): thread 0, the producer, mallocs BLOCKS blocks and hands them through a
 * ring of 4096 slots to thread 1, the consumer, which frees each: every free is remote. Each side
 * publishes its counter (PRODUCED, CONSUMED) once per batch of 64 blocks and reads the other's only
 * when it has used up what it saw last, so that per block the hand-over is one plain store and one
 * plain load of the ring, and what is measured is the allocator, not the mailbox.
 *
 *   producer:  | ring[i % 4096] = malloc(...) x 64, PRODUCED = i + 1 | the next 64 ...
 *              '--------------------- a batch -----------------------'
 *   consumer:  (waits while PRODUCED <= i)                           '-> | free(ring[i % 4096])
 *                                                                        x 64, CONSUMED = i + 1 | ...
 *   (the producer waits while i - CONSUMED >= 4096: the ring is full)
 *   The first tenth of BLOCKS more (whole batches) goes through the ring untimed: it runs both
 *   sides' every path and refills the heaps with blocks that came back from the other thread, as
 *   in the rest of the run. Each side starts its clock at the first timed block.
 *   "ns": (last end - first start) / BLOCKS
 *   "busyNs": each side times its own work batch by batch, its waits left out; the sum of the two
 *             sides' median batch time per block (it holds on a loaded machine, where the wall
 *             time is mostly the threads waiting for a core)
 *
 * A side that waits spins on the counter (2000 loads), then sleeps in futex(FUTEX_WAIT) with its
 * sleep flag raised, and the other side wakes it only when the flag is up: the protocol of the
 * workers' Atomics.wait and Atomics.notify, with the same spin and the same 1 ms timeout. A futex
 * rather than a loop of sched_yield or nanosleep: a sleeper gives its core back at once and is
 * woken as soon as there is work (sched_yield would keep the core busy against the other side on a
 * 2-core machine, and a nanosleep adds its timer slack, some 50 us, to every wait).
 *
 * --check fills the whole of every block handed out with a pattern drawn from its thread, round
 * and index, and checks it before the block's free (in whichever thread frees it): a block that
 * overlaps another, is handed out twice or is damaged in the hand-over is found. A mismatch, or a
 * NULL, stops the run with exit status 1 and one line naming the shape, the round and the block.
 * Its JSON line then has "checked":true (its times include the filling and checking).
 *
 * Errors are one line on stderr, `tsmalloc-threads: ...`: exit status 2 for a bad command line,
 * 1 for a failure at run time.
 */
#define _GNU_SOURCE
#define PROGRAM "tsmalloc-threads"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "churn.h"
#include "common.h"
#ifdef TSMALLOC_THREADS_MIMALLOC
#include <mimalloc.h>
#endif

#define MAX_THREADS 64
/* The pipeline's ring: 4096 slots, handed over BATCH at a time (a multiple of it). */
#define RING 4096
#define BATCH 64
/* Loads of a counter before a waiting thread goes to sleep. */
#define SPINS 2000
/* The pipeline's warm-up: each side mallocs and frees this many blocks (or BLOCKS) first. */
#define PIPELINE_WARM_UP 10000

#define INLINE static inline __attribute__((always_inline))

#define USAGE                                                                                         \
  "usage: tsmalloc-threads [--allocator libc|mimalloc] [--threads N] [--check] (--churn MIN,MAX,LIVE,PAIRS,SEED [--churn-hash H] " \
  "| --remote-free BLOCKS,ROUNDS,MIN,MAX | --pipeline BLOCKS,MIN,MAX)"

enum allocator { ALLOCATOR_LIBC, ALLOCATOR_MIMALLOC };
static const char *const ALLOCATOR_NAMES[] = {"libc", "mimalloc"};

enum shape { SHAPE_CHURN, SHAPE_REMOTE_FREE, SHAPE_PIPELINE };
static const char *const SHAPE_OPTIONS[] = {"--churn", "--remote-free", "--pipeline"};

/* The allocator's malloc and free, called directly: `allocator` is a constant wherever they are
 * inlined (see DISPATCH), so that the branch is gone. */
INLINE void *block_malloc(enum allocator allocator, size_t size) {
#ifdef TSMALLOC_THREADS_MIMALLOC
  if (allocator == ALLOCATOR_MIMALLOC) return mi_malloc(size);
#endif
  (void)allocator;
  return malloc(size);
}

INLINE void block_free(enum allocator allocator, void *p) {
#ifdef TSMALLOC_THREADS_MIMALLOC
  if (allocator == ALLOCATOR_MIMALLOC) {
    mi_free(p);
    return;
  }
#endif
  (void)allocator;
  free(p);
}

/* The sizes of the pipeline's and the remote free's blocks: a fixed spread over [min, max]
 * (threads-bench-worker.ts's sizeOf, in 32-bit words). */
INLINE uint32_t size_of(uint32_t i, uint32_t min, uint32_t max) {
  return min + (uint32_t)(i * 2654435761u) % (max - min + 1);
}

/* The one-line error from any thread, then _exit(1): not exit(), whose handlers (mimalloc's)
 * would tear the heaps down under the threads still allocating. Only the first thread to fail
 * speaks: another that fails at the same time waits for the end. */
static void fail_now(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail_now(const char *format, ...) {
  static atomic_flag failing = ATOMIC_FLAG_INIT;
  if (atomic_flag_test_and_set_explicit(&failing, memory_order_relaxed)) {
    for (;;) pause();
  }
  va_list args;
  va_start(args, format);
  error_line(format, args);
  va_end(args);
  _exit(1);
}

/* Memory for the threads' bookkeeping (slots, rounds, batches, the ring), mapped apart from both
 * allocators' heaps, as the workers' typed arrays are apart from the tsmalloc heap they measure;
 * page-aligned, so a 64-byte line of its own is easy. */
static void *scratch(size_t bytes) {
  void *p = mmap(NULL, bytes == 0 ? 1 : bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail_now("cannot map %zu bytes for the threads' bookkeeping: %s", bytes, strerror(errno));
  return p;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of `values` (the mean of the middle two for an even count, as median.ts; 0 for
 * none); sorts them. */
static double median(double *values, size_t n) {
  if (n == 0) return 0;
  qsort(values, n, sizeof *values, compare_doubles);
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* ----------------------------------------------------------------------------------------------
 * The threads' meeting points.
 */

/*
 * A count that one thread raises and the other waits on, and the waiter's sleep flag: each on a
 * 64-byte cache line of its own (as the workers' exchange array has them), since a store to a
 * line takes it from the other core, and a count sharing its line with what the other side keeps
 * reading would be paid for on every hand-over (false sharing).
 */
struct counter {
  alignas(64) atomic_uint count;
  alignas(64) atomic_uint asleep;
};

/* What the two threads of the remote free and the pipeline share, and every run's gate. */
struct exchange {
  struct counter forward; /* PRODUCED; remote free: rounds handed over */
  struct counter back;    /* CONSUMED; remote free: rounds done */
  alignas(64) atomic_uint ready; /* the gate: threads arrived */
  alignas(64) void *ring[RING];  /* the pipeline's blocks, plain memory ordered by the counts */
};

static void futex_wait(atomic_uint *word, unsigned seen) {
  struct timespec timeout = {0, 1000000};
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, seen, &timeout, NULL, 0);
}

static void futex_wake(atomic_uint *word) {
  syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Raises `c` to `value`, and wakes the other side if it sleeps. The store releases what this side
 * did before (its ring slots, its blocks' bytes, its reads of the other's), to whoever acquires
 * the count. It and the load of the flag are seq_cst, as are the sleeper's store of the flag and
 * load of the count (Dekker's pattern): either the sleeper sees the new count before it sleeps,
 * or this sees its flag and wakes it (and futex_wait sleeps only while the count is the one the
 * sleeper saw). A lost wake-up would cost the sleeper its 1 ms timeout, never the run.
 */
static void publish(struct counter *c, unsigned value) {
  atomic_store_explicit(&c->count, value, memory_order_seq_cst);
  if (atomic_load_explicit(&c->asleep, memory_order_seq_cst) != 0) futex_wake(&c->count);
}

/* Waits until `c` reaches `target`: SPINS loads, then sleeps with its flag raised. Returns the
 * count it saw (acquired: what the other side did before it published it is visible). */
static unsigned wait_for(struct counter *c, unsigned target) {
  unsigned seen;
  for (int spin = 0; spin < SPINS; spin++) {
    seen = atomic_load_explicit(&c->count, memory_order_acquire);
    if (seen >= target) return seen;
  }
  atomic_store_explicit(&c->asleep, 1, memory_order_seq_cst);
  while ((seen = atomic_load_explicit(&c->count, memory_order_seq_cst)) < target) futex_wait(&c->count, seen);
  /* relaxed: a flag seen raised late costs the other side one needless wake */
  atomic_store_explicit(&c->asleep, 0, memory_order_relaxed);
  return seen;
}

/* The gate: each thread arrives after its warm-up, and all go when the last has arrived. Relaxed:
 * nothing is handed over through it (each thread's work came with pthread_create), it only starts
 * the threads together. A waiting thread spins, then yields its core, so that with more threads
 * than cores the last ones get to arrive. */
static void arrive(atomic_uint *ready, unsigned threads) {
  atomic_fetch_add_explicit(ready, 1, memory_order_relaxed);
  for (unsigned spin = 0; atomic_load_explicit(ready, memory_order_relaxed) < threads; spin++) {
    if (spin >= SPINS) sched_yield();
  }
}

/* ----------------------------------------------------------------------------------------------
 * --check: each block's pattern, made from its tag (the thread that made it, the round and its
 * index). Word k of a block is tag + (k + 1) x the golden ratio's 64-bit word: the words of one
 * block all differ, and two blocks' patterns would have to meet by a 1-in-2^64 chance.
 */

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9u;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

static uint64_t block_tag(unsigned side, unsigned round, unsigned index) {
  return mix64(mix64((uint64_t)round << 32 | index) ^ ((uint64_t)side + 1) * 0x9e3779b97f4a7c15u);
}

static uint64_t pattern_word(uint64_t tag, size_t k) {
  return tag + (uint64_t)(k + 1) * 0x9e3779b97f4a7c15u;
}

/* The block's place in the run, for a message: `churn: thread 1's block 7 (64 bytes) in the timed
 * run`. Rounds: churn and the pipeline, 0 the warm-up and 1 the run; remote free, its rounds. */
static void describe(char *text, size_t length, enum shape shape, unsigned side, unsigned round, unsigned index, size_t size) {
  if (shape == SHAPE_REMOTE_FREE) snprintf(text, length, "remote free: round %u, thread %u's block %u (%zu bytes)", round, side, index, size);
  else if (shape == SHAPE_PIPELINE && round == 1) snprintf(text, length, "pipeline: block %u (%zu bytes) from the producer", index, size);
  else snprintf(text, length, "%s: thread %u's block %u (%zu bytes) in the %s", shape == SHAPE_CHURN ? "churn" : "pipeline", side, index, size, round == 0 ? "warm-up" : "timed run");
}

static void __attribute__((noinline, cold, noreturn)) null_block(enum shape shape, unsigned side, unsigned round, unsigned index, size_t size) {
  char place[160];
  describe(place, sizeof place, shape, side, round, index, size);
  fail_now("%s: malloc returned NULL", place);
}

static void __attribute__((noinline)) fill_block(unsigned char *p, size_t size, unsigned side, unsigned round, unsigned index) {
  uint64_t tag = block_tag(side, round, index);
  for (size_t at = 0; at < size; at += 8) {
    uint64_t word = pattern_word(tag, at / 8);
    memcpy(p + at, &word, size - at < 8 ? size - at : 8);
  }
#ifdef TSMALLOC_THREADS_CORRUPT
  /* the tests' build: a stray write into one block of thread 0's (the second round, index 3),
   * which --check must find before that block's free */
  if (side == 0 && round == 1 && index == 3) p[size - 1] ^= 0x40;
#endif
}

/* Checks the pattern of a block before `thread` frees it; a difference stops the run. */
static void __attribute__((noinline)) check_block(const unsigned char *p, size_t size, enum shape shape, unsigned side, unsigned round, unsigned index, unsigned thread) {
  uint64_t tag = block_tag(side, round, index);
  for (size_t at = 0; at < size; at += 8) {
    unsigned char expected[8];
    uint64_t word = pattern_word(tag, at / 8);
    size_t n = size - at < 8 ? size - at : 8;
    memcpy(expected, &word, sizeof expected);
    if (memcmp(p + at, expected, n) == 0) continue;
    size_t k = 0;
    while (p[at + k] == expected[k]) k++;
    char place[160];
    describe(place, sizeof place, shape, side, round, index, size);
    fail_now("%s, checked before thread %u frees it: byte %zu is 0x%02x, not 0x%02x (the block changed while it was live: it overlaps another, was handed out twice, or was written by a stray pointer)", place, thread, at + k, p[at + k], expected[k]);
  }
}

/* A new block of the run: a NULL counted (checked: fatal), the block touched (checked: filled). */
INLINE void *new_block(enum allocator allocator, int check, size_t size, enum shape shape, unsigned side, unsigned round, unsigned index, uint64_t *failures) {
  void *p = block_malloc(allocator, size);
  if (p == NULL) {
    if (check) null_block(shape, side, round, index, size);
    ++*failures;
  } else if (check) {
    fill_block(p, size, side, round, index);
  } else {
    TOUCH(p);
  }
  return p;
}

/* ----------------------------------------------------------------------------------------------
 * The shapes: each thread's part. `allocator` and `check` are constants where these are inlined.
 */

struct run {
  enum shape shape;
  enum allocator allocator;
  int check;
  unsigned threads;
  struct churn churn;
  /* remote free and pipeline */
  uint32_t blocks, rounds, min_size, max_size;
  void **handed; /* remote free: thread 0's blocks of the round */
  struct exchange *exchange;
};

struct worker {
  const struct run *run;
  unsigned index;
  pthread_t thread;
  /* the thread's timed work, on CLOCK_MONOTONIC, and its NULLs */
  uint64_t start, end, failures;
  /* remote free (thread 1): the median round's frees of its own blocks and of thread 0's, in ns */
  double local_ns, remote_ns;
  /* pipeline: its own work per block in the median batch, in ns */
  double busy_ns;
};

/* churn.ts's runChurn over the first `pairs` pairs: fill the slots, the pairs, free what is live.
 * Checked, born[slot] is the index of the step that made the slot's block. Returns the NULLs. */
INLINE uint64_t churn_steps(enum allocator allocator, int check, const struct churn *c, void **slots, uint32_t *born, uint32_t pairs, unsigned thread, unsigned round) {
  uint64_t failures = 0;
  for (uint32_t i = 0; i < c->live; i++) {
    slots[i] = new_block(allocator, check, c->sizes[i], SHAPE_CHURN, thread, round, i, &failures);
    if (check) born[i] = i;
  }
  uint32_t end = c->live + pairs;
  for (uint32_t i = c->live; i < end; i++) {
    uint32_t slot = c->slots[i];
    void *old = slots[slot];
    if (old != NULL) {
      if (check) check_block(old, c->sizes[born[slot]], SHAPE_CHURN, thread, round, born[slot], thread);
      block_free(allocator, old);
    }
    slots[slot] = new_block(allocator, check, c->sizes[i], SHAPE_CHURN, thread, round, i, &failures);
    if (check) born[slot] = i;
  }
  for (uint32_t i = 0; i < c->live; i++) {
    if (slots[i] == NULL) continue;
    if (check) check_block(slots[i], c->sizes[born[i]], SHAPE_CHURN, thread, round, born[i], thread);
    block_free(allocator, slots[i]);
    slots[i] = NULL;
  }
  return failures;
}

INLINE void churn_thread(enum allocator allocator, int check, struct worker *w) {
  const struct run *run = w->run;
  const struct churn *c = &run->churn;
  void **slots = scratch((size_t)c->live * sizeof *slots);
  uint32_t *born = check ? scratch((size_t)c->live * sizeof *born) : NULL;
  churn_steps(allocator, check, c, slots, born, c->pairs / 10, w->index, 0);
  arrive(&run->exchange->ready, run->threads);
  w->start = now_ns();
  w->failures = churn_steps(allocator, check, c, slots, born, c->pairs, w->index, 1);
  w->end = now_ns();
}

/* Frees the round's blocks of thread `side` (its sizes: size_of(i + round + side)), checked. */
INLINE void free_round(enum allocator allocator, int check, const struct run *run, void **blocks, unsigned side, uint32_t round) {
  for (uint32_t i = 0; i < run->blocks; i++) {
    if (check) check_block(blocks[i], size_of(i + round + side, run->min_size, run->max_size), SHAPE_REMOTE_FREE, side, round, i, 1);
    block_free(allocator, blocks[i]);
  }
}

INLINE void remote_free_thread(enum allocator allocator, int check, struct worker *w) {
  const struct run *run = w->run;
  struct exchange *x = run->exchange;
  const uint32_t n = run->blocks, rounds = run->rounds;
  uint64_t failures = 0;
  if (w->index == 0) {
    arrive(&x->ready, 2);
    w->start = now_ns();
    for (uint32_t round = 0; round < rounds; round++) {
      /* thread 1 is done with the last round's blocks (its reads of `handed` come before these stores) */
      wait_for(&x->back, round);
      for (uint32_t i = 0; i < n; i++) run->handed[i] = new_block(allocator, check, size_of(i + round, run->min_size, run->max_size), SHAPE_REMOTE_FREE, 0, round, i, &failures);
      publish(&x->forward, round + 1);
    }
    w->end = now_ns();
    w->failures = failures;
    return;
  }
  void **mine = scratch((size_t)n * sizeof *mine);
  double *local = scratch((size_t)(rounds - 1) * sizeof *local);
  double *remote = scratch((size_t)(rounds - 1) * sizeof *remote);
  arrive(&x->ready, 2);
  w->start = now_ns();
  for (uint32_t round = 0; round < rounds; round++) {
    for (uint32_t i = 0; i < n; i++) mine[i] = new_block(allocator, check, size_of(i + round + 1, run->min_size, run->max_size), SHAPE_REMOTE_FREE, 1, round, i, &failures);
    wait_for(&x->forward, round + 1);
    uint64_t t0 = now_ns();
    if (round % 2 == 0) free_round(allocator, check, run, mine, 1, round);
    else free_round(allocator, check, run, run->handed, 0, round);
    uint64_t t1 = now_ns();
    if (round % 2 == 0) free_round(allocator, check, run, run->handed, 0, round);
    else free_round(allocator, check, run, mine, 1, round);
    uint64_t t2 = now_ns();
    if (round > 0) {
      local[round - 1] = (double)(round % 2 == 0 ? t1 - t0 : t2 - t1);
      remote[round - 1] = (double)(round % 2 == 0 ? t2 - t1 : t1 - t0);
    }
    publish(&x->back, round + 1);
  }
  w->end = now_ns();
  w->failures = failures;
  w->local_ns = median(local, rounds - 1);
  w->remote_ns = median(remote, rounds - 1);
}

/* A pipeline side's clock: each side times its own work batch by batch, its waits left out. */
struct batch {
  uint64_t start;  /* the batch's start */
  uint64_t waited; /* its waits so far */
};

/* wait_for in a batch: the wait is left out of the batch's time. */
static uint32_t wait_in_batch(struct counter *c, uint32_t target, struct batch *batch) {
  uint64_t t = now_ns();
  uint32_t seen = wait_for(c, target);
  batch->waited += now_ns() - t;
  return seen;
}

/* The end of the batch that ends with block i: the side publishes its count (`mine`), then
 * records its own time per block in the batch (from block `warm` on: `warm` is a multiple of
 * BATCH), and starts the next. */
static void end_batch(struct counter *mine, uint32_t i, uint32_t warm, double *busy, struct batch *batch) {
  publish(mine, i + 1);
  uint64_t t = now_ns();
  if (i >= warm) busy[(i - warm) / BATCH] = (double)(t - batch->start - batch->waited) / ((i - warm) % BATCH + 1);
  batch->waited = 0;
  batch->start = t;
}

/* A side reaches block `warm`: its timed part starts (its clock and its first batch). */
static void start_clock(struct worker *w, struct batch *batch) {
  w->start = now_ns();
  batch->start = w->start;
  batch->waited = 0;
}

/* The blocks handed over untimed before the BLOCKS that are timed: a tenth, in whole batches
 * (@tsmalloc/trace's pipelineWarmBlocks). They run every path of both sides (the remote free, the
 * owner taking its blocks back) and refill the heap with blocks that came back that way. */
static uint32_t pipeline_warm_blocks(uint32_t blocks) {
  return blocks / 10 / BATCH * BATCH;
}

INLINE void pipeline_thread(enum allocator allocator, int check, struct worker *w) {
  const struct run *run = w->run;
  struct exchange *x = run->exchange;
  const uint32_t warm = pipeline_warm_blocks(run->blocks), last = warm + run->blocks, min = run->min_size, max = run->max_size;
  const unsigned side = w->index;
  uint64_t failures = 0;
  double *busy = scratch(((size_t)run->blocks + BATCH - 1) / BATCH * sizeof *busy);
  for (uint32_t i = 0; i < run->blocks && i < PIPELINE_WARM_UP; i++) {
    void *p = new_block(allocator, check, size_of(i, min, max), SHAPE_PIPELINE, side, 0, i, &failures);
    if (check) check_block(p, size_of(i, min, max), SHAPE_PIPELINE, side, 0, i, side);
    block_free(allocator, p);
  }
  failures = 0;
  arrive(&x->ready, 2);
  w->start = now_ns();
  struct batch batch = {now_ns(), 0};
  if (side == 0) {
    uint32_t consumed = 0; /* what the producer saw of CONSUMED last */
    for (uint32_t i = 0; i < last; i++) {
      if (i == warm) start_clock(w, &batch);
      if (i - consumed >= RING) {
        consumed = atomic_load_explicit(&x->back.count, memory_order_acquire);
        if (i - consumed >= RING) consumed = wait_in_batch(&x->back, i - RING + 1, &batch);
      }
      x->ring[i % RING] = new_block(allocator, check, size_of(i, min, max), SHAPE_PIPELINE, 0, 1, i, &failures);
      if ((i + 1) % BATCH == 0 || i + 1 == last) end_batch(&x->forward, i, warm, busy, &batch);
    }
  } else {
    uint32_t produced = 0; /* what the consumer saw of PRODUCED last */
    for (uint32_t i = 0; i < last; i++) {
      if (i == warm) start_clock(w, &batch);
      if (produced <= i) {
        produced = atomic_load_explicit(&x->forward.count, memory_order_acquire);
        if (produced <= i) produced = wait_in_batch(&x->forward, i + 1, &batch);
      }
      void *p = x->ring[i % RING];
      if (check) check_block(p, size_of(i, min, max), SHAPE_PIPELINE, 0, 1, i, 1);
      block_free(allocator, p);
      if ((i + 1) % BATCH == 0 || i + 1 == last) end_batch(&x->back, i, warm, busy, &batch);
    }
  }
  w->end = now_ns();
  w->failures = failures;
  w->busy_ns = median(busy, ((size_t)run->blocks + BATCH - 1) / BATCH);
}

/* BODY(allocator, check, w) with both as constants, so that each of the (up to) four copies calls
 * its allocator directly and the unchecked ones carry no check. */
#ifdef TSMALLOC_THREADS_MIMALLOC
#define DISPATCH(BODY, w)                                                                          \
  do {                                                                                             \
    if ((w)->run->allocator == ALLOCATOR_MIMALLOC) {                                               \
      if ((w)->run->check) BODY(ALLOCATOR_MIMALLOC, 1, w);                                         \
      else BODY(ALLOCATOR_MIMALLOC, 0, w);                                                         \
    } else {                                                                                       \
      if ((w)->run->check) BODY(ALLOCATOR_LIBC, 1, w);                                             \
      else BODY(ALLOCATOR_LIBC, 0, w);                                                             \
    }                                                                                              \
  } while (0)
#else
#define DISPATCH(BODY, w)                                                                          \
  do {                                                                                             \
    if ((w)->run->check) BODY(ALLOCATOR_LIBC, 1, w);                                               \
    else BODY(ALLOCATOR_LIBC, 0, w);                                                               \
  } while (0)
#endif

static void *thread_main(void *argument) {
  struct worker *w = argument;
  switch (w->run->shape) {
    case SHAPE_CHURN:
      DISPATCH(churn_thread, w);
      break;
    case SHAPE_REMOTE_FREE:
      DISPATCH(remote_free_thread, w);
      break;
    default:
      DISPATCH(pipeline_thread, w);
  }
  return NULL;
}

/* ----------------------------------------------------------------------------------------------
 * The command line.
 */

int main(int argc, char **argv) {
  const char *allocator_name = "libc", *threads_text = NULL, *spec = NULL, *expected_hash = NULL;
  int check = 0, shape = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    int given = -1;
    for (int k = 0; k < 3; k++) {
      if (strcmp(a, SHAPE_OPTIONS[k]) == 0 && has_value) given = k;
    }
    if (given >= 0) {
      if (shape >= 0) fail(2, "one shape at a time (got %s and %s)", SHAPE_OPTIONS[shape], a);
      shape = given;
      spec = argv[++i];
    } else if (strcmp(a, "--check") == 0) check = 1;
    else if (strcmp(a, "--allocator") == 0 && has_value) allocator_name = argv[++i];
    else if (strcmp(a, "--threads") == 0 && has_value) threads_text = argv[++i];
    else if (strcmp(a, "--churn-hash") == 0 && has_value) expected_hash = argv[++i];
    else if (a[0] == '-') fail(2, "unknown option or missing value: %s", a);
    else fail(2, "unexpected argument \"%s\" (the shape is an option: --churn, --remote-free or --pipeline)", a);
  }
  if (shape < 0) fail(2, "%s", USAGE);
  if (expected_hash != NULL && shape != SHAPE_CHURN) fail(2, "--churn-hash goes with --churn, not %s", SHAPE_OPTIONS[shape]);

  enum allocator allocator;
  if (strcmp(allocator_name, "libc") == 0) allocator = ALLOCATOR_LIBC;
#ifdef TSMALLOC_THREADS_MIMALLOC
  else if (strcmp(allocator_name, "mimalloc") == 0) allocator = ALLOCATOR_MIMALLOC;
  else fail(2, "--allocator: unknown allocator \"%s\" (libc or mimalloc)", allocator_name);
#else
  else fail(2, "--allocator: unknown allocator \"%s\" (libc; mimalloc is in the build linked with it)", allocator_name);
#endif

  unsigned threads = shape == SHAPE_CHURN ? 1 : 2;
  if (threads_text != NULL) threads = (unsigned)whole_number("--threads", threads_text, 1, MAX_THREADS);
  if (shape != SHAPE_CHURN && threads != 2) fail(2, "%s runs 2 threads (one makes the blocks, the other frees them): --threads must be 2 or absent, got %u", SHAPE_OPTIONS[shape], threads);

  struct run run = {.shape = shape, .allocator = allocator, .check = check, .threads = threads};
  if (shape == SHAPE_CHURN) {
    uint64_t p[5];
    number_list("--churn", "MIN,MAX,LIVE,PAIRS,SEED", spec, 5, p);
    if (p[0] == 0 || p[3] == 0) fail(2, "--churn: MIN and PAIRS must be at least 1 (a block of 0 bytes has no byte to touch; the figure is per pair)");
    read_churn(spec, expected_hash, &run.churn);
  } else {
    int remote = shape == SHAPE_REMOTE_FREE;
    uint64_t p[4];
    number_list(SHAPE_OPTIONS[shape], remote ? "BLOCKS,ROUNDS,MIN,MAX" : "BLOCKS,MIN,MAX", spec, remote ? 4 : 3, p);
    uint64_t blocks = p[0], rounds = remote ? p[1] : 1, min = p[remote ? 2 : 1], max = p[remote ? 3 : 2];
    if (min > max) fail(2, "%s: MIN (%" PRIu64 ") is above MAX (%" PRIu64 ")", SHAPE_OPTIONS[shape], min, max);
    if (blocks == 0 || blocks >= UINT32_MAX || rounds >= UINT32_MAX || min == 0 || max >= UINT32_MAX) {
      fail(2, "%s: %s must be below 2^32 - 1, BLOCKS and MIN at least 1", SHAPE_OPTIONS[shape], remote ? "BLOCKS,ROUNDS,MIN,MAX" : "BLOCKS,MIN,MAX");
    }
    if (remote && rounds < 2) fail(2, "--remote-free: ROUNDS must be at least 2 (round 0 is not counted)");
    if (!remote && blocks + pipeline_warm_blocks((uint32_t)blocks) >= UINT32_MAX) fail(2, "--pipeline: BLOCKS and the tenth more handed over untimed first must be below 2^32 - 1");
    run.blocks = (uint32_t)blocks;
    run.rounds = (uint32_t)rounds;
    run.min_size = (uint32_t)min;
    run.max_size = (uint32_t)max;
    if (remote) run.handed = scratch((size_t)blocks * sizeof *run.handed);
  }
  run.exchange = scratch(sizeof *run.exchange);

  struct worker *workers = scratch(threads * sizeof *workers);
  for (unsigned k = 0; k < threads; k++) {
    workers[k] = (struct worker){.run = &run, .index = k};
    int error = pthread_create(&workers[k].thread, NULL, thread_main, &workers[k]);
    if (error != 0) fail_now("cannot start thread %u of %u: %s", k + 1, threads, strerror(error));
  }
  uint64_t start = UINT64_MAX, end = 0, failures = 0;
  for (unsigned k = 0; k < threads; k++) {
    pthread_join(workers[k].thread, NULL);
    if (workers[k].start < start) start = workers[k].start;
    if (workers[k].end > end) end = workers[k].end;
    failures += workers[k].failures;
  }
  double wall = (double)(end - start);
  const char *name = ALLOCATOR_NAMES[allocator], *checked = check ? ",\"checked\":true" : "";
  if (shape == SHAPE_CHURN) {
    uint64_t units = (uint64_t)run.churn.pairs * threads;
    printf("{\"workload\":\"churn\",\"allocator\":\"%s\",\"threads\":%u,\"units\":%" PRIu64 ",\"ns\":%.2f,\"failures\":%" PRIu64 "%s}\n", name, threads, units, wall / (double)units, failures, checked);
  } else if (shape == SHAPE_REMOTE_FREE) {
    printf("{\"workload\":\"remote free\",\"allocator\":\"%s\",\"threads\":2,\"units\":%" PRIu32 ",\"remoteNs\":%.2f,\"localNs\":%.2f,\"failures\":%" PRIu64 "%s}\n", name, run.blocks, workers[1].remote_ns / run.blocks, workers[1].local_ns / run.blocks, failures, checked);
  } else {
    printf("{\"workload\":\"pipeline\",\"allocator\":\"%s\",\"threads\":2,\"units\":%" PRIu32 ",\"ns\":%.2f,\"busyNs\":%.2f,\"failures\":%" PRIu64 "%s}\n", name, run.blocks, wall / run.blocks, workers[0].busy_ns + workers[1].busy_ns, failures, checked);
  }
  free(run.churn.sizes);
  free(run.churn.slots);
  return 0;
}
