/*
 * tsmalloc-record.c: the LD_PRELOAD recorder of `tsmalloc record`.
 *
 * `tsmalloc record` builds this file with the system's C compiler on first use (into its cache
 * folder, named by the hash of this source) and runs the program with it preloaded. Every call
 * of the malloc family that the program makes goes through the functions below: each calls the C
 * library's own function (found with dlsym(RTLD_NEXT, ...)) and appends one fixed-size record of
 * the call and its result to a file. `tsmalloc record` reads the records as they come, while the
 * program runs, and turns them into a trace (addresses become ids there, by @tsmalloc/trace's
 * TraceRecorder): a header counts once its magic is written, a record once its op is.
 *
 * One file per program image, `DIR/PID.N.rec`: N counts the programs a process has been (0, then
 * 1 after its first exec, ...), so an exec starts a new file, and so does a fork (when forks are
 * followed). The file is written through a shared mapping, so every record is in the file the
 * moment it is written: nothing is lost when the program execs, calls _exit or is killed.
 *
 *   offset 0          header (HEADER_SIZE bytes): magic, pid, image, counters, program, argv
 *   offset HEADER_SIZE records, RECORD_SIZE bytes each, until the first whose op is 0
 *
 *   record: u8 op | u8 call | u16 0 | u32 0 | u64 a | u64 b | u64 result
 *     OP_MALLOC   a = size                      malloc
 *     OP_CALLOC   a = nmemb, b = size           calloc
 *     OP_REALLOC  a = old pointer, b = size     realloc, reallocarray (b = UINT64_MAX: nmemb * size overflowed)
 *     OP_FREE     a = pointer                   free
 *     OP_MEMALIGN a = alignment, b = size       memalign, posix_memalign, aligned_alloc, valloc, pvalloc
 *   `call` says which of the C functions it was; `result` is the pointer returned (0: NULL).
 *
 * All threads' records are in one order: the order of a global lock, taken after the call for
 * the calls that make a block, before it for free (so that the free is written before another
 * thread can be given the same address), and around the call for realloc (which frees inside).
 *
 * Environment (set by `tsmalloc record`):
 *   TSMALLOC_RECORD_DIR     the folder of the files; without it nothing is recorded
 *   TSMALLOC_RECORD_PARENT  the pid of `tsmalloc record`: a process whose parent it is is recorded
 *   TSMALLOC_RECORD_FORKS   "1": also record forked processes and the programs they run
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEADER_SIZE 65536u      /* a multiple of every page size Linux uses */
#define RECORD_SIZE 32u
#define WINDOW_SIZE (4u << 20)  /* the part of the file mapped at a time: 131,072 records */
#define MAGIC "TSMREC1"
#define BYTE_ORDER_MARK 0x01020304u

enum { OP_MALLOC = 1, OP_CALLOC, OP_REALLOC, OP_FREE, OP_MEMALIGN };
enum {
  CALL_MALLOC = 1, CALL_CALLOC, CALL_REALLOC, CALL_FREE, CALL_MEMALIGN, CALL_POSIX_MEMALIGN,
  CALL_ALIGNED_ALLOC, CALL_VALLOC, CALL_PVALLOC, CALL_REALLOCARRAY
};

/* The header, at offset 0 of each file. The counters are updated while the program runs. */
struct header {
  char magic[8];
  uint32_t byte_order;      /* BYTE_ORDER_MARK as written by this machine */
  uint32_t header_size;
  uint32_t record_size;
  uint32_t image;           /* N of PID.N.rec */
  uint64_t pid;
  uint64_t ppid;
  uint64_t flags;           /* FLAG_FORKED: the image began at a fork (it has its parent's blocks) */
  uint64_t nested;          /* calls made while this thread was inside the recorder: not recorded */
  uint64_t lost;            /* calls not recorded because the file could not grow (errno in lost_errno) */
  uint64_t lost_errno;
  uint64_t forks;           /* fork()s that made a child not recorded */
  uint64_t bootstrap;       /* calls served from the bootstrap buffer while dlsym ran: not recorded */
  uint64_t page_size;
  uint32_t exe_length;      /* the program's path (/proc/self/exe) at EXE_OFFSET */
  uint32_t argv_length;     /* its arguments (/proc/self/cmdline, NUL-separated, cut) at ARGV_OFFSET */
};
#define FLAG_FORKED 1u
#define EXE_OFFSET 256u
#define EXE_MAX 4096u
#define ARGV_OFFSET (EXE_OFFSET + EXE_MAX)
#define ARGV_MAX (HEADER_SIZE - ARGV_OFFSET)

struct record {
  uint8_t op;
  uint8_t call;
  uint16_t zero16;
  uint32_t zero32;
  uint64_t a;
  uint64_t b;
  uint64_t result;
};

/* The C library's functions. */
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static void *(*real_memalign)(size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);

/*
 * Before the functions above are found, calls are served from a static buffer: dlsym itself may
 * call calloc. Those blocks are never freed (free ignores them) and never recorded.
 */
static _Alignas(16) unsigned char bootstrap[64 << 10];
static size_t bootstrap_used;

enum { UNINITIALISED, INITIALISING, READY };
static int state = UNINITIALISED;

/* Whether this image records, and its file: the header and the window of records mapped now. */
static int recording;
static int follow_forks;
static struct header *head;
static unsigned char *window;       /* maps [window_start, window_start + WINDOW_SIZE) of the file */
static uint64_t window_start;
static uint64_t next_offset;        /* where the next record goes */
static char path[4096];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Set while this thread is inside the recorder: a call made then (a signal handler's, or one the
 * C library makes inside realloc) goes straight to the C library, not recorded. initial-exec:
 * reaching it never calls malloc. */
static __thread int busy __attribute__((tls_model("initial-exec")));

static void *bootstrap_alloc(size_t size) {
  size_t need = (size + 15) & ~(size_t)15;
  size_t at = __atomic_fetch_add(&bootstrap_used, need, __ATOMIC_RELAXED);
  if (need < size || at + need > sizeof bootstrap) return NULL;
  return bootstrap + at;
}

static int from_bootstrap(const void *p) {
  return (const unsigned char *)p >= bootstrap && (const unsigned char *)p < bootstrap + sizeof bootstrap;
}

/* Decimal digits of `n` at `out`; returns the end. */
static char *put_decimal(char *out, uint64_t n) {
  char digits[24];
  int count = 0;
  do {
    digits[count++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (count > 0) *out++ = digits[--count];
  return out;
}

static uint64_t parse_decimal(const char *text) {
  uint64_t n = 0;
  if (text == NULL) return 0;
  for (; *text >= '0' && *text <= '9'; text++) n = n * 10 + (uint64_t)(*text - '0');
  return n;
}

/* Reads up to `max` bytes of a /proc file into `out`; returns how many. */
static uint32_t read_proc(const char *file, unsigned char *out, uint32_t max) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  uint32_t total = 0;
  if (fd < 0) return 0;
  while (total < max) {
    ssize_t n = read(fd, out + total, max - total);
    if (n <= 0) break;
    total += (uint32_t)n;
  }
  close(fd);
  return total;
}

/*
 * Maps the window of the file that starts at `start`, growing the file to hold it first
 * (posix_fallocate, so that a full disk is an error here and never a SIGBUS later). The file is
 * opened by its path each time: no descriptor is kept, so a program that closes descriptors it
 * did not open cannot make the recorder write into another file.
 */
static int map_window(uint64_t start) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  int error = 0;
  void *mapped = MAP_FAILED;
  if (fd < 0) return errno;
  error = posix_fallocate(fd, (off_t)start, WINDOW_SIZE);
  if (error == 0) {
    mapped = mmap(NULL, WINDOW_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)start);
    if (mapped == MAP_FAILED) error = errno;
  }
  close(fd);
  if (error != 0) return error;
  if (window != NULL) munmap(window, WINDOW_SIZE);
  window = mapped;
  window_start = start;
  return 0;
}

/* Creates this image's file, DIR/PID.N.rec with the first N not taken, and writes its header. */
static void open_file(int forked) {
  const char *dir = getenv("TSMALLOC_RECORD_DIR");
  size_t dir_length = strlen(dir);
  uint32_t image;
  int fd = -1;
  if (dir_length + 64 > sizeof path) {
    recording = 0;
    return;
  }
  for (image = 0; image < 1000000; image++) {
    char *end = path;
    memcpy(end, dir, dir_length);
    end += dir_length;
    *end++ = '/';
    end = put_decimal(end, (uint64_t)getpid());
    *end++ = '.';
    end = put_decimal(end, image);
    memcpy(end, ".rec", 5);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0 || errno != EEXIST) break;
  }
  if (fd < 0) {
    recording = 0;
    return;
  }
  if (posix_fallocate(fd, 0, HEADER_SIZE) != 0) {
    close(fd);
    recording = 0;
    return;
  }
  void *mapped = mmap(NULL, HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    recording = 0;
    return;
  }
  head = mapped;
  head->byte_order = BYTE_ORDER_MARK;
  head->header_size = HEADER_SIZE;
  head->record_size = RECORD_SIZE;
  head->image = image;
  head->pid = (uint64_t)getpid();
  head->ppid = (uint64_t)getppid();
  head->flags = forked ? FLAG_FORKED : 0;
  head->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
  ssize_t exe = readlink("/proc/self/exe", (char *)head + EXE_OFFSET, EXE_MAX);
  head->exe_length = exe > 0 ? (uint32_t)exe : 0;
  head->argv_length = read_proc("/proc/self/cmdline", (unsigned char *)head + ARGV_OFFSET, ARGV_MAX);
  /* the magic last: `tsmalloc record` reads the file while the program runs, and takes a header
   * only once its magic is there */
  __atomic_thread_fence(__ATOMIC_RELEASE);
  memcpy(head->magic, MAGIC, 8);
  window = NULL;
  next_offset = HEADER_SIZE;
  int error = map_window(HEADER_SIZE);
  if (error != 0) {
    head->lost_errno = (uint64_t)error;
    recording = 0;
  }
}

/* Appends one record; the caller holds the lock. errno is the call's, whatever happens here. */
static void put(uint8_t op, uint8_t call, uint64_t a, uint64_t b, const void *result) {
  if (!recording) return;
  if (next_offset + RECORD_SIZE > window_start + WINDOW_SIZE) {
    int saved = errno;
    int error = map_window(window_start + WINDOW_SIZE);
    errno = saved;
    if (error != 0) {
      /* the disk is full, or the file is gone: the rest is counted, not recorded */
      head->lost_errno = (uint64_t)error;
      head->lost++;
      recording = 0;
      return;
    }
  }
  struct record *r = (struct record *)(window + (next_offset - window_start));
  r->call = call;
  r->a = a;
  r->b = b;
  r->result = (uint64_t)(uintptr_t)result;
  /* the op last: a record cut off by a kill has op 0, where the reader stops */
  __atomic_store_n(&r->op, op, __ATOMIC_RELEASE);
  next_offset += RECORD_SIZE;
}

static void record(uint8_t op, uint8_t call, uint64_t a, uint64_t b, const void *result) {
  pthread_mutex_lock(&lock);
  put(op, call, a, b, result);
  pthread_mutex_unlock(&lock);
}

static void before_fork(void) {
  pthread_mutex_lock(&lock);
}

static void after_fork_parent(void) {
  if (recording && head != NULL && !follow_forks) __atomic_fetch_add(&head->forks, 1, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&lock);
}

/* In the child: the parent's file is the parent's. Record into a file of its own, or not at all. */
static void after_fork_child(void) {
  int was_recording = recording;
  if (window != NULL) munmap(window, WINDOW_SIZE);
  if (head != NULL) munmap(head, HEADER_SIZE);
  window = NULL;
  head = NULL;
  recording = 0;
  if (was_recording && follow_forks) {
    recording = 1;
    open_file(1);
  }
  pthread_mutex_unlock(&lock);
}

/*
 * Finds the C library's functions and decides whether this image records. Returns nonzero while
 * that is under way (the caller serves its call from the bootstrap buffer).
 */
static int initialise(void) {
  int expected = UNINITIALISED;
  if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == READY) return 0;
  if (!__atomic_compare_exchange_n(&state, &expected, INITIALISING, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    /* another call is initialising: dlsym on this thread, or (rarely) another thread */
    return __atomic_load_n(&state, __ATOMIC_ACQUIRE) != READY;
  }
  real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
  real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
  real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
  real_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
  real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
  real_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
  real_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
  real_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
  real_reallocarray = (void *(*)(void *, size_t, size_t))dlsym(RTLD_NEXT, "reallocarray");
  const char *dir = getenv("TSMALLOC_RECORD_DIR");
  const char *forks = getenv("TSMALLOC_RECORD_FORKS");
  follow_forks = forks != NULL && forks[0] == '1';
  uint64_t parent = parse_decimal(getenv("TSMALLOC_RECORD_PARENT"));
  recording = dir != NULL && dir[0] != '\0' && real_malloc != NULL && real_free != NULL &&
              (follow_forks || (uint64_t)getppid() == parent);
  busy = 1;
  /* (pthread_atfork may allocate: busy sends that to the C library unrecorded) */
  pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  if (recording) open_file(0);
  busy = 0;
  __atomic_store_n(&state, READY, __ATOMIC_RELEASE);
  return 0;
}

__attribute__((constructor)) static void start(void) {
  initialise();
}

/* Nonzero when a call must go straight to the C library (counted when it is a nested call). */
static int unrecorded(void) {
  if (!recording) return 1;
  if (busy) {
    if (head != NULL) __atomic_fetch_add(&head->nested, 1, __ATOMIC_RELAXED);
    return 1;
  }
  return 0;
}

static void count_bootstrap(void) {
  if (head != NULL) __atomic_fetch_add(&head->bootstrap, 1, __ATOMIC_RELAXED);
}

void *malloc(size_t size) {
  if (initialise()) return bootstrap_alloc(size);
  if (unrecorded()) return real_malloc(size);
  busy = 1;
  void *p = real_malloc(size);
  record(OP_MALLOC, CALL_MALLOC, size, 0, p);
  busy = 0;
  return p;
}

void *calloc(size_t nmemb, size_t size) {
  if (initialise()) {
    /* the buffer is zero and never reused */
    size_t bytes;
    return __builtin_mul_overflow(nmemb, size, &bytes) ? NULL : bootstrap_alloc(bytes);
  }
  if (unrecorded()) return real_calloc(nmemb, size);
  busy = 1;
  void *p = real_calloc(nmemb, size);
  record(OP_CALLOC, CALL_CALLOC, nmemb, size, p);
  busy = 0;
  return p;
}

/* realloc of a bootstrap block: a new block from the C library, the old bytes copied (as many as fit). */
static void *move_from_bootstrap(void *old, size_t size) {
  void *p = real_malloc(size);
  size_t room = (size_t)(bootstrap + sizeof bootstrap - (unsigned char *)old);
  if (p != NULL) memcpy(p, old, size < room ? size : room);
  return p;
}

static void *realloc_call(void *old, size_t size, uint8_t call, uint64_t recorded_size) {
  if (initialise()) {
    /* (old, if any, is a bootstrap block too: nothing else has been handed out yet) */
    unsigned char *p = bootstrap_alloc(size);
    if (p != NULL && old != NULL && from_bootstrap(old)) memmove(p, old, (size_t)(p - (unsigned char *)old) < size ? (size_t)(p - (unsigned char *)old) : size);
    return p;
  }
  if (old != NULL && from_bootstrap(old)) {
    count_bootstrap();
    return move_from_bootstrap(old, size);
  }
  if (unrecorded()) return real_realloc(old, size);
  busy = 1;
  pthread_mutex_lock(&lock);
  void *p = real_realloc(old, size);
  put(OP_REALLOC, call, (uint64_t)(uintptr_t)old, recorded_size, p);
  pthread_mutex_unlock(&lock);
  busy = 0;
  return p;
}

void *realloc(void *old, size_t size) {
  return realloc_call(old, size, CALL_REALLOC, size);
}

void *reallocarray(void *old, size_t nmemb, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(nmemb, size, &bytes)) {
    /* the C library's answer, without a call: ENOMEM, the old block untouched */
    if (initialise() == 0 && !unrecorded()) record(OP_REALLOC, CALL_REALLOCARRAY, (uint64_t)(uintptr_t)old, UINT64_MAX, NULL);
    errno = ENOMEM;
    return NULL;
  }
  return realloc_call(old, bytes, CALL_REALLOCARRAY, bytes);
}

void free(void *p) {
  if (p != NULL && from_bootstrap(p)) {
    count_bootstrap();
    return;
  }
  if (initialise()) return;
  if (unrecorded()) {
    real_free(p);
    return;
  }
  busy = 1;
  record(OP_FREE, CALL_FREE, (uint64_t)(uintptr_t)p, 0, NULL);
  real_free(p);
  busy = 0;
}

/* The aligned calls: one shape, recorded as OP_MEMALIGN with the alignment the block got. */
static void *aligned_call(uint8_t call, size_t alignment, size_t size, uint64_t recorded_alignment, uint64_t recorded_size) {
  void *p = NULL;
  int error = 0;
  switch (call) {
    case CALL_MEMALIGN: p = real_memalign(alignment, size); break;
    case CALL_ALIGNED_ALLOC: p = real_aligned_alloc(alignment, size); break;
    case CALL_VALLOC: p = real_valloc(size); break;
    case CALL_PVALLOC: p = real_pvalloc(size); break;
    case CALL_POSIX_MEMALIGN: error = real_posix_memalign(&p, alignment, size); if (error != 0) p = NULL; break;
  }
  record(OP_MEMALIGN, call, recorded_alignment, recorded_size, p);
  if (call == CALL_POSIX_MEMALIGN) errno = error;
  return p;
}

/* A bootstrap block aligned to `alignment` (the buffer's blocks are 16-aligned; larger ones are rare here). */
static void *bootstrap_aligned(size_t alignment, size_t size) {
  if (alignment <= 16) return bootstrap_alloc(size);
  unsigned char *p = bootstrap_alloc(size + alignment);
  return p == NULL ? NULL : (void *)(((uintptr_t)p + alignment - 1) & ~(uintptr_t)(alignment - 1));
}

void *memalign(size_t alignment, size_t size) {
  if (initialise()) return bootstrap_aligned(alignment, size);
  if (unrecorded()) return real_memalign(alignment, size);
  busy = 1;
  void *p = aligned_call(CALL_MEMALIGN, alignment, size, alignment, size);
  busy = 0;
  return p;
}

void *aligned_alloc(size_t alignment, size_t size) {
  if (initialise()) return bootstrap_aligned(alignment, size);
  if (unrecorded()) return real_aligned_alloc(alignment, size);
  busy = 1;
  void *p = aligned_call(CALL_ALIGNED_ALLOC, alignment, size, alignment, size);
  busy = 0;
  return p;
}

int posix_memalign(void **out, size_t alignment, size_t size) {
  if (initialise()) {
    *out = bootstrap_aligned(alignment, size);
    return *out == NULL ? ENOMEM : 0;
  }
  if (unrecorded()) return real_posix_memalign(out, alignment, size);
  int saved = errno;
  busy = 1;
  void *p = aligned_call(CALL_POSIX_MEMALIGN, alignment, size, alignment, size);
  int error = errno;
  busy = 0;
  errno = saved;
  if (error == 0) *out = p;
  return error;
}

void *valloc(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (initialise()) return bootstrap_aligned(page, size);
  if (unrecorded()) return real_valloc(size);
  busy = 1;
  void *p = aligned_call(CALL_VALLOC, page, size, page, size);
  busy = 0;
  return p;
}

void *pvalloc(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  /* pvalloc gives whole pages (one for 0 bytes): the block is that size */
  size_t rounded = size == 0 ? page : (size + page - 1) & ~(page - 1);
  if (initialise()) return bootstrap_aligned(page, rounded);
  if (unrecorded()) return real_pvalloc(size);
  busy = 1;
  void *p = aligned_call(CALL_PVALLOC, page, size, page, rounded < size ? UINT64_MAX : rounded);
  busy = 0;
  return p;
}
