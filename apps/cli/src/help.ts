/** The text of `tsmalloc --help` and of each command's `--help`. */

const CONFIGS = "default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug";

/** `tsmalloc --help`. */
export const MAIN_HELP: string = `tsmalloc: CPython's memory allocators (pymalloc, the allocator domains, the debug hooks)
over JavaScript linear memory, on allocation traces recorded from real programs.

Usage: tsmalloc <command> [options]

Commands:
  replay <trace>     replay a trace through the MEM domain; time, footprint, arenas, --verify
  stats [trace]      replay a trace and print only the allocators' statistics
  bench [traces...]  benchmark the configurations against JavaScript peers and native glibc, mimalloc
  demo               the bundled py_compileall trace under TSMALLOC, then compared with malloc
  visualize          serve the visualizer page (pymalloc's arenas and pools, live) on a local port
  wasm <prog.wasm>   run a C program compiled to WebAssembly (WASI) on a tsmalloc heap
  record -- COMMAND  record a native program's malloc, calloc, realloc, free, ... into a trace
  help [command]     this text, or a command's

Options:
  -h, --help         show help (after a command: that command's)
  --version          print the version

Environment:
  TSMALLOC           the allocator configuration when --allocator is not given
                     (${CONFIGS}; CPython's PYTHONMALLOC names)

Exit codes: 0 done, 1 the replay found a fault (--verify, or the allocator threw), 2 bad input,
70 an internal error (a bug in tsmalloc: please report it with the output).
Traces: a file, or a bundled trace's name (py_compileall, gcc_cc1_wrapt). One event per line,
gzip-compressed or plain; # comments and empty lines are not events (see the README). Events are
numbered from 1: "after event N" is N events applied.
  a ID SIZE | c ID NMEMB SIZE | r OLDID NEWID SIZE | f ID | m ID ALIGN SIZE
`;

const ALLOCATOR_OPTION = `  --allocator NAME   the configuration: ${CONFIGS}
                     (default: TSMALLOC, else default)`;
const MODULE_OPTION = `  --module PATH      serve MEM with your own allocator: a module whose default export is
                     ({ memory, mem, runtime }) => Allocator (mem: the configuration's MEM allocator)`;
const LIMIT_OPTION = "  --limit N          replay only the first N events";
const AT_OPTION = "  --at end|peak      take the statistics at the end of the trace (default) or at its peak of live bytes";

/** Each command's `--help`. */
export const COMMAND_HELP: Readonly<Record<string, string>> = {
  replay: `Usage: tsmalloc replay <trace> [options]

Replays an allocation trace (a file, or a bundled trace's name: py_compileall, gcc_cc1_wrapt)
through a runtime's MEM domain (the program's malloc, calloc, realloc and free become
PyMem_Malloc, PyMem_Calloc, PyMem_Realloc and PyMem_Free). The trace is read and
parsed first (a progress bar on a terminal); only the replay is timed. Prints the events, the time
per event, the trace's peak of live bytes, the heap footprint at that peak (bytes the allocators
had mapped from the memory) and its ratio to the live bytes, pymalloc's arenas and pools.

Options:
${ALLOCATOR_OPTION}
  --verify           fill every block with a pattern from its id, check it before every free and
                     realloc and at the end, check the heaps; a fault is reported with its event
                     number and the exit code is 1 (the time then includes the checks)
  --stats            also print the statistics (pymalloc's sys._debugmallocstats() table)
${AT_OPTION}
  --runs N           replay N times, each on a fresh runtime; report the median time
                     (default 3, the first of which also compiles the code; 1 with --verify)
${LIMIT_OPTION}
${MODULE_OPTION}
  --json             print the results as JSON (times in the unit their name ends with, rounded
                     to 0.1; the fields are listed in the README)
`,
  stats: `Usage: tsmalloc stats [trace] [options]

Replays a trace (default: the bundled py_compileall) through the MEM domain and prints only the
statistics: pymalloc's table, as CPython's sys._debugmallocstats() prints it, and the system
malloc's figures.

Options:
${ALLOCATOR_OPTION}
${AT_OPTION}
${LIMIT_OPTION}
${MODULE_OPTION}
  --json             print the statistics as JSON
`,
  bench: `Usage: tsmalloc bench [traces...] [options]

Benchmarks allocators on traces (default: the bundled py_compileall and gcc_cc1_wrapt) and on two
synthetic churns (8..512 B with 10,000 blocks live; 16..64 KiB with 1,000 live). Every run is a
fresh worker; runs alternate between the allocators; each cell is the median, with its ratio to
the first column. A run that exceeds the budget is stopped and shown as over budget.

Allocators:
  default, debug, malloc, malloc_debug, pymalloc, pymalloc_debug   tsmalloc's configurations (MEM domain)
  thi.ng/malloc      @thi.ng/malloc's MemPool on one 1 GiB ArrayBuffer
  uint8array         a new Uint8Array per block, freed by the garbage collector
  empty              a bump pointer whose free does nothing: the JavaScript loop's own share
  glibc, mimalloc    native: a C replayer of the same files and churns (built with cc on first
                     use; mimalloc where libmimalloc-dev is installed), one process per run
  empty-c            the C replayer's empty allocator: the C loop's own share

Options:
  --allocators LIST  comma-separated, in column order
                     (default: default,malloc,pymalloc_debug,glibc,mimalloc,thi.ng/malloc,
                     uint8array,empty,empty-c; the native ones only where they can be built)
  --runs N           runs per cell (default 5)
  --budget SECONDS   time one run may take (default 20)
  --quick            one run of smaller workloads (100,000 events of each trace), to try it out
  --markdown         print a Markdown table
  --json             print every run as JSON (times in ns per unit of the case, an event or a
                     malloc/free pair, rounded to 0.1; the fields are listed in the README)
  --workers N        instead: N workers (2 or more) sharing one memory, through the MEM domain of
                     default and malloc: private heaps (nothing shared: the ceiling), the locked
                     shared heap, and free-threading (a heap per worker), each with 1 and N
                     workers; a producer -> consumer pipeline; a remote free against a local one
                     (default budget 60 s per run)
`,
  demo: `Usage: tsmalloc demo [options]

The main job of npm start: replays the bundled py_compileall trace (CPython compiling three
standard-library packages, 1.0 M allocation events) under the configuration from TSMALLOC, prints
the summary and pymalloc's statistics, then compares the time and footprint with malloc's.

Options:
${ALLOCATOR_OPTION}
`,
  visualize: `Usage: tsmalloc visualize [options]

Serves the visualizer (built into this package) on a local port until Ctrl-C: a page
that runs pymalloc and malloc in the browser and draws their state as a trace replays. The arena
map (pools coloured by size class, shaded by how full they are; arenas in usable_arenas order),
play/step/scrub, sys._debugmallocstats(), live bytes against the footprint, a pool's header and
free list, and the debug hooks' report for an overflow you inject.

Options:
  --port N           the port (default 4178; 0: any free port, printed at start)
  --host ADDRESS     the address to listen on (default 127.0.0.1: this machine only)
`,
  wasm: `Usage: tsmalloc wasm <prog.wasm> [options] [-- ARGS...]

Runs a WASI program built with @tsmalloc/wasm's shim on a tsmalloc heap, under node:wasi:
  clang --target=wasm32-wasi -O2 prog.c tsmalloc-shim.c -Wl,--import-memory -Wl,--export=__heap_base
The program's malloc, calloc, realloc and free are served by the MEM domain of the configuration
(PyMem_* and PyObject_* by their own); its data and stack lie below __heap_base, tsmalloc's heaps
from the next 64 KiB page on. Its standard streams are the command's; ARGS are its arguments.
Under a _debug configuration a heap overflow or a bad free stops the program with CPython's report.

Options:
${ALLOCATOR_OPTION}
  --stats            after the program, print the statistics on stderr (pymalloc's table, the
                     system malloc's figures)
  --dir DIR          let the program open files under DIR (repeatable)
  --env NAME=VALUE   set a variable in the program's environment, which is otherwise empty (repeatable)
  --record FILE      record the program's malloc, calloc, realloc and free (its calls on the MEM
                     domain) into FILE, a trace for tsmalloc replay, stats and the visualizer
                     (gzip-compressed for a .gz name); a summary line on stderr at the end
  --tracemalloc N    trace the program's allocations with N frames (@tsmalloc/tracemalloc): a
                     debug hook's report then ends with where the block was allocated, the C
                     functions named from the module's name section (0: off)

Environment:
  TSMALLOCSTATS      print pymalloc's statistics on stderr at each new arena and at the end
  TSMALLOC_TRACEMALLOC  N: as --tracemalloc N, which takes precedence (a bad value is refused)

Exit status: the program's; 134 when the allocator stopped it (a debug hook's report, a free of
what is not a live block) or it trapped (abort(), an access outside the memory), as abort() ends
a C program; 2 for a file that cannot be read or a module that cannot run on a tsmalloc heap.
`,
  record: `Usage: tsmalloc record [-o FILE] [--follow-forks] -- COMMAND [ARGS...]

Runs COMMAND with a recorder of the C library's malloc family preloaded (LD_PRELOAD; Linux with
glibc): malloc, calloc, realloc, free, memalign, posix_memalign, aligned_alloc, valloc, pvalloc and
reallocarray, from every thread in one order. Then writes FILE, a gzip-compressed trace that
tsmalloc replay, stats, bench and the visualizer take (addresses become block ids; free(NULL),
frees of blocks never seen allocated and NULL returns are left out; realloc(NULL, n) is an
allocation, realloc(p, 0) a free), and prints a summary on stderr: the events, the peak of live
bytes, what was left out and why. The recorder is C, built with the system's compiler (CC, else
cc) on first use into $XDG_CACHE_HOME/tsmalloc (~/.cache/tsmalloc).

A program that execs another (env, a shell's exec, pyenv's shims) becomes it: FILE is the trace of
the last program the started process ran. For a Python interpreter (or a script whose #! names
one) PYTHONMALLOC=malloc is set unless it is set already, so that its objects reach malloc.

Options:
  -o, --output FILE  the trace file (default: COMMAND's name with .trace.gz, here)
  -f, --follow-forks also record the processes COMMAND forks and the programs they run, and what
                     the started process ran before its last exec: each into FILE's name with
                     .PID.N before .trace.gz (N: the programs that process had been before)

Exit status: COMMAND's (128 + the signal's number when a signal ended it); 2 when it cannot be
recorded (not Linux with glibc, no C compiler, a program that ignores LD_PRELOAD: one line).
`,
  help: `Usage: tsmalloc help [command]

Prints the help of tsmalloc, or of one command.
`,
};
