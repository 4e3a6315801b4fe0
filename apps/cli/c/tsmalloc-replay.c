/*
 * tsmalloc-replay: the native reference columns of `tsmalloc bench`. It replays an allocation
 * trace (or one of the bench's synthetic churns) through the C library's malloc family, through
 * mimalloc (in the build with -DTSMALLOC_REPLAY_MIMALLOC, linked with -lmimalloc), or through an
 * empty allocator, and prints the time per event as one JSON line. `tsmalloc bench` builds it with
 * the system's C compiler on first use (src/native-replayer.ts) and runs it once per run.
 *
 *   tsmalloc-replay [--allocator libc|mimalloc|empty] [--runs N] [--warmups N] [--limit N]
 *                   [--check] [--dump] (TRACE | --churn MIN,MAX,LIVE,PAIRS,SEED [--churn-hash H])
 *
 * Everything is read first, untimed: a trace file (gzip or plain, through zlib) into arrays, one
 * entry per event, as @tsmalloc/trace's Trace holds them; a churn's sizes and slots drawn with
 * the same PRNG (mulberry32) and the same arithmetic as @tsmalloc/trace's churn() (churn.h,
 * shared with tsmalloc-threads.c). Then:
 *
 *   warm-up replays (untimed) | timed replay 1 | timed replay 2 | ...
 *                             '- ns per event (a churn: per malloc/free pair), one figure each
 *
 * Between two replays the blocks still live are freed (untimed), so that each starts on the same
 * heap. The loop is @tsmalloc/trace's TimedReplay, with the same bookkeeping: a table from block id
 * to address; a request that returns NULL leaves its block out (a later free of it is skipped, a
 * later realloc of it is a malloc); a realloc that returns NULL leaves the old block under the new
 * id. Each new block gets a one-byte touch, so that its memory is really handed out (a block that
 * is never written costs a lazy allocator nothing). realloc(p, 0) asks for 1 byte: glibc would
 * free the block and return NULL, which the bookkeeping would take for a failure with the old
 * block kept, and CPython's PyMem_Realloc asks for 1 byte there too.
 *
 * --check replays once, untimed, and prints the bookkeeping instead of times: the requests that
 * returned NULL (their event numbers, from 1) and the blocks live at the end, by id, for the tests
 * to set against TimedReplay's. --dump prints a churn's sizes and slots.
 *
 * Errors (a bad line, a file that cannot be read, a bad option) are one line on stderr,
 * `tsmalloc-replay: ...`, and exit status 1 (2 for a bad command line).
 */
#define _GNU_SOURCE
#define PROGRAM "tsmalloc-replay"
#include <sys/mman.h>
#include <zlib.h>

#include "churn.h"
#include "common.h"
#ifdef TSMALLOC_REPLAY_MIMALLOC
#include <mimalloc.h>
#endif

/* Event kinds, as @tsmalloc/trace's OP_* constants. */
enum { OP_MALLOC = 0, OP_CALLOC = 1, OP_REALLOC = 2, OP_FREE = 3, OP_MEMALIGN = 4 };

/* The largest SIZE (and NMEMB x SIZE) of the format: 2^53. */
#define MAX_SIZE 9007199254740992ULL
/* No event line is longer (the parser's MAX_EVENT_LINE). */
#define MAX_EVENT_LINE 256

/*
 * The workload in arrays: event i (from 0) is op[i] with id[i], arg[i], size[i], as in Trace:
 * id the block the event creates (r: the new id) or frees; arg r's old id, c's NMEMB, m's ALIGN.
 */
struct trace {
  size_t length;
  size_t ids; /* one more than the largest id */
  uint8_t *op;
  uint32_t *id;
  uint32_t *arg;
  uint64_t *size;
};

/* ----------------------------------------------------------------------------------------------
 * Reading a trace file (packages/trace/README.md, "The format").
 */

/* The whole file, gunzipped (zlib reads a plain file as it is). */
static char *read_file(const char *path, size_t *length) {
  errno = 0;
  gzFile file = gzopen(path, "rb");
  if (file == NULL) fail(1, "cannot read %s: %s", path, errno != 0 ? strerror(errno) : "zlib could not open it");
  gzbuffer(file, 1 << 17);
  size_t capacity = 1 << 20, used = 0;
  char *text = xrealloc(NULL, capacity);
  for (;;) {
    if (capacity - used < (1 << 16)) text = xrealloc(text, capacity *= 2);
    int n = gzread(file, text + used, (unsigned)(capacity - used - 1));
    if (n < 0) {
      int code;
      const char *why = gzerror(file, &code);
      fail(1, "%s: %s", path, code == Z_ERRNO ? strerror(errno) : code == Z_DATA_ERROR || code == Z_BUF_ERROR ? "not a valid gzip file" : why);
    }
    if (n == 0) break;
    used += (size_t)n;
  }
  /* a gzip file cut short ends without an error from gzread, but gzclose_r says so */
  int closed = gzclose_r(file);
  if (closed == Z_BUF_ERROR || closed == Z_DATA_ERROR) fail(1, "%s: not a valid gzip file (cut short or damaged)", path);
  text[used] = '\0';
  *length = used;
  return text;
}

/* The line's text for a message: at most 60 bytes, quoted. */
static const char *quoted(const char *line, size_t length) {
  static char buffer[80];
  int shown = length > 60 ? 60 : (int)length;
  snprintf(buffer, sizeof buffer, "\"%.*s%s\"", shown, line, length > 60 ? "..." : "");
  return buffer;
}

/* Live ids, one byte each, grown as larger ids come. */
struct live_ids {
  uint8_t *live;
  size_t capacity;
};

static int is_live(const struct live_ids *live, uint64_t id) {
  return id < live->capacity && live->live[id];
}

static void set_live(struct live_ids *live, uint64_t id, uint8_t value) {
  if (id >= live->capacity) {
    size_t grown = live->capacity * 2 > id + 1 ? live->capacity * 2 : (size_t)id + 1;
    live->live = xrealloc(live->live, grown);
    memset(live->live + live->capacity, 0, grown - live->capacity);
    live->capacity = grown;
  }
  live->live[id] = value;
}

/* The field names of each event, for messages. */
static const char *field_name(char op, int k) {
  static const char *const names[][3] = {{"ID", "SIZE", ""}, {"ID", "NMEMB", "SIZE"}, {"OLDID", "NEWID", "SIZE"}, {"ID", "", ""}, {"ID", "ALIGN", "SIZE"}};
  int row = op == 'a' ? 0 : op == 'c' ? 1 : op == 'r' ? 2 : op == 'f' ? 3 : 4;
  return names[row][k];
}

/* Parses the trace text into `t`, keeping the first `limit` events; a bad line stops with
 * `NAME:LINE: "the line": why`. */
static void parse_trace(const char *name, char *text, size_t length, uint64_t limit, struct trace *t) {
  size_t capacity = 1 << 16;
  t->length = 0;
  t->ids = 0;
  t->op = xrealloc(NULL, capacity);
  t->id = xrealloc(NULL, capacity * sizeof *t->id);
  t->arg = xrealloc(NULL, capacity * sizeof *t->arg);
  t->size = xrealloc(NULL, capacity * sizeof *t->size);
  struct live_ids live = {xrealloc(NULL, 1024), 1024};
  memset(live.live, 0, 1024);
  size_t line_number = 0;
  char *pos = text, *end = text + length;
  while (pos < end && t->length < limit) {
    char *newline = memchr(pos, '\n', (size_t)(end - pos));
    char *line_end = newline != NULL ? newline : end;
    char *next = newline != NULL ? newline + 1 : end;
    size_t n = (size_t)(line_end - pos);
    if (n > 0 && pos[n - 1] == '\r') n--;
    line_number++;
    /* comments, and lines of spaces and tabs only, are not events */
    size_t blank = 0;
    while (blank < n && (pos[blank] == ' ' || pos[blank] == '\t')) blank++;
    if (blank == n || pos[0] == '#') {
      pos = next;
      continue;
    }
    const char *q = quoted(pos, n);
    if (n > MAX_EVENT_LINE) fail(1, "%s:%zu: %s: a line of over %d bytes that is not a comment (no event is that long)", name, line_number, q, MAX_EVENT_LINE);
    if (memchr(pos, '\0', n) != NULL) fail(1, "%s:%zu: a line with a NUL byte (a trace is text)", name, line_number);
    char op = pos[0];
    int fields = op == 'a' ? 2 : op == 'f' ? 1 : op == 'c' || op == 'r' || op == 'm' ? 3 : 0;
    if (fields == 0 || (n > 1 && pos[1] != ' ')) fail(1, "%s:%zu: %s: unknown event (the events are a, c, r, f and m; # starts a comment)", name, line_number, q);
    uint64_t value[3] = {0, 0, 0};
    size_t at = 1;
    for (int k = 0; k < fields; k++) {
      if (at >= n) fail(1, "%s:%zu: %s: %s is missing", name, line_number, q, field_name(op, k));
      if (pos[at] != ' ') fail(1, "%s:%zu: %s: %s is not a decimal number", name, line_number, q, field_name(op, k));
      at++;
      if (at < n && pos[at] == ' ') fail(1, "%s:%zu: %s: two spaces before %s (fields are separated by one space)", name, line_number, q, field_name(op, k));
      size_t digits = at;
      uint64_t v = 0;
      int over = 0;
      while (at < n && pos[at] >= '0' && pos[at] <= '9') {
        if (v > MAX_SIZE) over = 1;
        else v = v * 10 + (uint64_t)(pos[at] - '0');
        at++;
      }
      if (at == digits || (at < n && pos[at] != ' ')) fail(1, "%s:%zu: %s: %s is missing or not a decimal number", name, line_number, q, field_name(op, k));
      int is_size = k == fields - 1 && op != 'f';
      if (over || v > MAX_SIZE) fail(1, "%s:%zu: %s: %s is larger than 2^53", name, line_number, q, field_name(op, k));
      if (!is_size && v > UINT32_MAX) fail(1, "%s:%zu: %s: %s %" PRIu64 " is not below 2^32", name, line_number, q, field_name(op, k), v);
      value[k] = v;
    }
    if (at < n) fail(1, "%s:%zu: %s: %s after %s, the last field", name, line_number, q, at + 1 == n ? "a space" : "an extra field", field_name(op, fields - 1));
    /* the rules on ids (event-rules.ts) */
    uint64_t id, arg = 0, size = 0;
    uint8_t kind;
    switch (op) {
      case 'a':
        kind = OP_MALLOC, id = value[0], size = value[1];
        break;
      case 'c':
        kind = OP_CALLOC, id = value[0], arg = value[1], size = value[2];
        if (arg != 0 && size > MAX_SIZE / arg) fail(1, "%s:%zu: %s: NMEMB x SIZE (%" PRIu64 " x %" PRIu64 ") is larger than 2^53", name, line_number, q, arg, size);
        break;
      case 'r':
        kind = OP_REALLOC, arg = value[0], id = value[1], size = value[2];
        break;
      case 'f':
        kind = OP_FREE, id = value[0];
        break;
      default:
        kind = OP_MEMALIGN, id = value[0], arg = value[1], size = value[2];
        if (arg == 0 || (arg & (arg - 1)) != 0) fail(1, "%s:%zu: %s: ALIGN %" PRIu64 " is not a power of two", name, line_number, q, arg);
    }
    if (kind == OP_FREE) {
      if (!is_live(&live, id)) fail(1, "%s:%zu: %s: ID %" PRIu64 " is not a live block (never allocated, or freed already)", name, line_number, q, id);
      set_live(&live, id, 0);
    } else {
      if (kind == OP_REALLOC) {
        if (!is_live(&live, arg)) fail(1, "%s:%zu: %s: OLDID %" PRIu64 " is not a live block (never allocated, or freed already)", name, line_number, q, arg);
        set_live(&live, arg, 0);
      }
      if (is_live(&live, id)) fail(1, "%s:%zu: %s: %s %" PRIu64 " is already a live block", name, line_number, q, kind == OP_REALLOC ? "NEWID" : "ID", id);
      set_live(&live, id, 1);
      if (id + 1 > t->ids) t->ids = (size_t)id + 1;
    }
    if (t->length == capacity) {
      capacity *= 2;
      t->op = xrealloc(t->op, capacity);
      t->id = xrealloc(t->id, capacity * sizeof *t->id);
      t->arg = xrealloc(t->arg, capacity * sizeof *t->arg);
      t->size = xrealloc(t->size, capacity * sizeof *t->size);
    }
    t->op[t->length] = kind;
    t->id[t->length] = (uint32_t)id;
    t->arg[t->length] = (uint32_t)arg;
    t->size[t->length] = size;
    t->length++;
    pos = next;
  }
  free(live.live);
  if (t->length == 0) fail(1, "%s: the trace has no events", name);
}

/* ----------------------------------------------------------------------------------------------
 * The empty allocator: a bump pointer through one arena, whose free does nothing, so that what a
 * replay through it costs is the loop's own share. Each block has a 16-byte header holding its
 * size (realloc copies the old bytes to a new block), and the pointer wraps to the arena's start
 * when it reaches the end: blocks then overlap older ones, which a timing replay never reads.
 *
 *   arena: | hdr | block | hdr | block ... | hdr | block |         |
 *          ^ start                                       ^ bump    ^ end (wraps to start)
 *
 * A request the arena cannot hold at all returns NULL. @tsmalloc/cli's EmptyTarget is the same
 * allocator in JavaScript.
 */

#define EMPTY_ARENA_BYTES ((size_t)256 << 20)
#define EMPTY_RING_BYTES ((size_t)1 << 20)
#define EMPTY_HEADER 16

static char *empty_start, *empty_bump;

static void empty_init(void) {
  void *arena = mmap(NULL, EMPTY_ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (arena == MAP_FAILED) fail(1, "the empty allocator cannot map its %zu MiB arena: %s", EMPTY_ARENA_BYTES >> 20, strerror(errno));
  empty_start = empty_bump = arena;
}

static inline void *empty_aligned(size_t alignment, size_t size) {
  if (alignment < EMPTY_HEADER) alignment = EMPTY_HEADER;
  if (size > EMPTY_ARENA_BYTES - EMPTY_HEADER - alignment) return NULL;
  /* (a block of 0 bytes takes 16 too: it gets its one-byte touch) */
  size_t need = size == 0 ? EMPTY_HEADER : (size + EMPTY_HEADER - 1) & ~(size_t)(EMPTY_HEADER - 1);
  uintptr_t p = ((uintptr_t)empty_bump + EMPTY_HEADER + alignment - 1) & ~(uintptr_t)(alignment - 1);
  if (p + need > (uintptr_t)empty_start + EMPTY_RING_BYTES) p = ((uintptr_t)empty_start + EMPTY_HEADER + alignment - 1) & ~(uintptr_t)(alignment - 1);
  empty_bump = (char *)(p + need);
  ((uint64_t *)p)[-1] = size;
  return (void *)p;
}

static inline void *empty_malloc(size_t size) { return empty_aligned(EMPTY_HEADER, size); }

static inline void *empty_calloc(size_t nmemb, size_t size) {
  if (size != 0 && nmemb > SIZE_MAX / size) return NULL;
  void *p = empty_malloc(nmemb * size);
  if (p != NULL) memset(p, 0, nmemb * size);
  return p;
}

static inline void *empty_realloc(void *old, size_t size) {
  void *p = empty_malloc(size);
  if (p != NULL) {
    uint64_t had = ((uint64_t *)old)[-1];
    memmove(p, old, had < size ? had : size);
  }
  return p;
}

static inline void empty_free(void *p) { (void)p; }

static void empty_reset(void) { empty_bump = empty_start; }

/* ----------------------------------------------------------------------------------------------
 * The replay loops, one per allocator, so that each calls its functions directly.
 */

/*
 * replay_NAME(t, address, failed): TimedReplay.run over the whole trace. `address` has t->ids
 * entries, all NULL; `failed`, when not NULL, gets the event numbers (from 1) of the requests that
 * returned NULL. Returns their count. Blocks live at the end stay allocated (free_live_NAME).
 */
#define DEFINE_REPLAY(NAME, MALLOC, CALLOC, REALLOC, FREE, ALIGNED)                                  \
  static uint64_t replay_##NAME(const struct trace *t, void **address, uint64_t *failed) {           \
    const uint8_t *op = t->op;                                                                       \
    const uint32_t *id = t->id, *arg = t->arg;                                                       \
    const uint64_t *size = t->size;                                                                  \
    uint64_t failures = 0;                                                                           \
    for (size_t i = 0; i < t->length; i++) {                                                         \
      uint32_t block = id[i];                                                                        \
      void *p;                                                                                       \
      switch (op[i]) {                                                                               \
        case OP_MALLOC:                                                                              \
          p = MALLOC(size[i]);                                                                       \
          break;                                                                                     \
        case OP_CALLOC:                                                                              \
          p = CALLOC(arg[i], size[i]);                                                               \
          break;                                                                                     \
        case OP_MEMALIGN:                                                                            \
          p = ALIGNED(arg[i], size[i]);                                                              \
          break;                                                                                     \
        case OP_REALLOC: {                                                                           \
          void *old = address[arg[i]];                                                               \
          p = old == NULL ? MALLOC(size[i]) : REALLOC(old, size[i] == 0 ? 1 : size[i]);              \
          address[arg[i]] = NULL;                                                                    \
          /* a failed realloc leaves the old block: it goes on under the new id */                  \
          if (p == NULL) address[block] = old;                                                       \
          break;                                                                                     \
        }                                                                                            \
        default: { /* OP_FREE */                                                                     \
          void *q = address[block];                                                                  \
          if (q != NULL) FREE(q);                                                                    \
          address[block] = NULL;                                                                     \
          continue;                                                                                  \
        }                                                                                            \
      }                                                                                              \
      if (p == NULL) {                                                                               \
        if (failed != NULL) failed[failures] = i + 1;                                                \
        failures++;                                                                                  \
      } else {                                                                                       \
        address[block] = p;                                                                          \
        TOUCH(p);                                                                                    \
      }                                                                                              \
    }                                                                                                \
    return failures;                                                                                 \
  }                                                                                                  \
                                                                                                     \
  /* churn.ts's runChurn: fill the slots, the pairs, free what is live; returns the NULLs */        \
  static uint64_t churn_##NAME(const struct churn *c, void **slots) {                                \
    uint64_t failures = 0;                                                                           \
    for (uint32_t i = 0; i < c->live; i++) {                                                         \
      void *p = MALLOC(c->sizes[i]);                                                                 \
      if (p == NULL) failures++;                                                                     \
      else TOUCH(p);                                                                                 \
      slots[i] = p;                                                                                  \
    }                                                                                                \
    size_t end = (size_t)c->live + c->pairs;                                                         \
    for (size_t i = c->live; i < end; i++) {                                                         \
      uint32_t slot = c->slots[i];                                                                   \
      void *old = slots[slot];                                                                       \
      if (old != NULL) FREE(old);                                                                    \
      void *p = MALLOC(c->sizes[i]);                                                                 \
      if (p == NULL) failures++;                                                                     \
      else TOUCH(p);                                                                                 \
      slots[slot] = p;                                                                               \
    }                                                                                                \
    for (uint32_t i = 0; i < c->live; i++) {                                                         \
      if (slots[i] != NULL) FREE(slots[i]);                                                          \
      slots[i] = NULL;                                                                               \
    }                                                                                                \
    return failures;                                                                                 \
  }                                                                                                  \
                                                                                                     \
  static void free_live_##NAME(void **address, size_t ids) {                                         \
    for (size_t i = 0; i < ids; i++) {                                                               \
      if (address[i] != NULL) FREE(address[i]);                                                      \
      address[i] = NULL;                                                                             \
    }                                                                                                \
  }

DEFINE_REPLAY(libc, malloc, calloc, realloc, free, aligned_alloc)
DEFINE_REPLAY(empty, empty_malloc, empty_calloc, empty_realloc, empty_free, empty_aligned)
#ifdef TSMALLOC_REPLAY_MIMALLOC
DEFINE_REPLAY(mimalloc, mi_malloc, mi_calloc, mi_realloc, mi_free, mi_aligned_alloc)
#endif

/* One allocator's three loops. */
struct allocator {
  const char *name;
  uint64_t (*replay)(const struct trace *, void **, uint64_t *);
  uint64_t (*churn)(const struct churn *, void **);
  void (*free_live)(void **, size_t);
  void (*reset)(void);
};

static void nothing(void) {}

static const struct allocator ALLOCATORS[] = {
    {"libc", replay_libc, churn_libc, free_live_libc, nothing},
    {"empty", replay_empty, churn_empty, free_live_empty, empty_reset},
#ifdef TSMALLOC_REPLAY_MIMALLOC
    {"mimalloc", replay_mimalloc, churn_mimalloc, free_live_mimalloc, nothing},
#endif
};

/* ----------------------------------------------------------------------------------------------
 * The command line.
 */

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

int main(int argc, char **argv) {
  const char *allocator_name = "libc", *path = NULL, *churn_spec = NULL, *expected_hash = NULL;
  uint64_t runs = 1, warmups = 1, limit = UINT64_MAX;
  int check = 0, dump = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_value = i + 1 < argc;
    if (strcmp(a, "--check") == 0) check = 1;
    else if (strcmp(a, "--dump") == 0) dump = 1;
    else if (strcmp(a, "--allocator") == 0 && has_value) allocator_name = argv[++i];
    else if (strcmp(a, "--runs") == 0 && has_value) runs = whole_number("--runs", argv[++i], 1, UINT64_MAX);
    else if (strcmp(a, "--warmups") == 0 && has_value) warmups = whole_number("--warmups", argv[++i], 0, UINT64_MAX);
    else if (strcmp(a, "--limit") == 0 && has_value) limit = whole_number("--limit", argv[++i], 1, UINT64_MAX);
    else if (strcmp(a, "--churn") == 0 && has_value) churn_spec = argv[++i];
    else if (strcmp(a, "--churn-hash") == 0 && has_value) expected_hash = argv[++i];
    else if (a[0] == '-' && a[1] != '\0') fail(2, "unknown option or missing value: %s", a);
    else if (path != NULL) fail(2, "one trace at a time (got %s and %s)", path, a);
    else path = a;
  }
  if ((path == NULL) == (churn_spec == NULL)) fail(2, "usage: tsmalloc-replay [--allocator libc|mimalloc|empty] [--runs N] [--warmups N] [--limit N] [--check] (TRACE | --churn MIN,MAX,LIVE,PAIRS,SEED [--churn-hash H] [--dump])");
  const struct allocator *allocator = NULL;
  for (size_t k = 0; k < sizeof ALLOCATORS / sizeof ALLOCATORS[0]; k++) {
    if (strcmp(ALLOCATORS[k].name, allocator_name) == 0) allocator = &ALLOCATORS[k];
  }
  if (allocator == NULL) {
#ifdef TSMALLOC_REPLAY_MIMALLOC
    fail(2, "--allocator: unknown allocator \"%s\" (libc, mimalloc or empty)", allocator_name);
#else
    fail(2, "--allocator: unknown allocator \"%s\" (libc or empty; mimalloc is in the build linked with it)", allocator_name);
#endif
  }
  if (allocator->reset == empty_reset) empty_init();

  if (churn_spec != NULL) {
    struct churn c;
    uint32_t hash = read_churn(churn_spec, expected_hash, &c);
    if (dump) {
      printf("{\"live\":%" PRIu32 ",\"pairs\":%" PRIu32 ",\"hash\":%" PRIu32 ",\"sizes\":[", c.live, c.pairs, hash);
      for (size_t i = 0; i < (size_t)c.live + c.pairs; i++) printf(i == 0 ? "%" PRIu32 : ",%" PRIu32, c.sizes[i]);
      printf("],\"slots\":[");
      for (size_t i = 0; i < (size_t)c.live + c.pairs; i++) printf(i == 0 ? "%" PRIu32 : ",%" PRIu32, c.slots[i]);
      printf("]}\n");
      return 0;
    }
    void **slots = calloc(c.live, sizeof *slots);
    if (slots == NULL) fail(1, "out of memory");
    if (check) {
      uint64_t failures = allocator->churn(&c, slots);
      printf("{\"allocator\":\"%s\",\"workload\":\"churn\",\"units\":%" PRIu32 ",\"hash\":%" PRIu32 ",\"failures\":%" PRIu64 "}\n", allocator->name, c.pairs, hash, failures);
      return 0;
    }
    uint64_t failures = 0;
    for (uint64_t k = 0; k < warmups; k++) {
      allocator->churn(&c, slots);
      allocator->reset();
    }
    printf("{\"allocator\":\"%s\",\"workload\":\"churn\",\"unit\":\"pair\",\"units\":%" PRIu32 ",\"warmups\":%" PRIu64 ",\"nsPerUnit\":[", allocator->name, c.pairs, warmups);
    for (uint64_t k = 0; k < runs; k++) {
      uint64_t start = now_ns();
      failures = allocator->churn(&c, slots);
      uint64_t ns = now_ns() - start;
      allocator->reset();
      printf(k == 0 ? "%.2f" : ",%.2f", c.pairs == 0 ? 0.0 : (double)ns / c.pairs);
    }
    printf("],\"failures\":%" PRIu64 "}\n", failures);
    return 0;
  }

  size_t length;
  char *text = read_file(path, &length);
  struct trace t;
  parse_trace(base_name(path), text, length, limit, &t);
  free(text);
  void **address = calloc(t.ids, sizeof *address);
  if (address == NULL) fail(1, "out of memory");
  if (check) {
    uint64_t *failed = xrealloc(NULL, t.length * sizeof *failed);
    uint64_t failures = allocator->replay(&t, address, failed);
    printf("{\"allocator\":\"%s\",\"workload\":\"replay\",\"units\":%zu,\"ids\":%zu,\"failures\":%" PRIu64 ",\"failedEvents\":[", allocator->name, t.length, t.ids, failures);
    for (uint64_t k = 0; k < failures; k++) printf(k == 0 ? "%" PRIu64 : ",%" PRIu64, failed[k]);
    printf("],\"liveIds\":[");
    int first = 1;
    for (size_t k = 0; k < t.ids; k++) {
      if (address[k] != NULL) printf(first ? "%zu" : ",%zu", k), first = 0;
    }
    printf("]}\n");
    return 0;
  }
  uint64_t failures = 0;
  for (uint64_t k = 0; k < warmups; k++) {
    allocator->replay(&t, address, NULL);
    allocator->free_live(address, t.ids);
    allocator->reset();
  }
  printf("{\"allocator\":\"%s\",\"workload\":\"replay\",\"unit\":\"event\",\"units\":%zu,\"warmups\":%" PRIu64 ",\"nsPerUnit\":[", allocator->name, t.length, warmups);
  for (uint64_t k = 0; k < runs; k++) {
    uint64_t start = now_ns();
    failures = allocator->replay(&t, address, NULL);
    uint64_t ns = now_ns() - start;
    allocator->free_live(address, t.ids);
    allocator->reset();
    printf(k == 0 ? "%.2f" : ",%.2f", (double)ns / (double)t.length);
  }
  printf("],\"failures\":%" PRIu64 "}\n", failures);
  return 0;
}
