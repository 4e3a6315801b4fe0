"""CPython's own tracemalloc on the churn of bench/run.ts, as the anchor of its figures.

The same workload shape as testkit's smallChurn: 10,000 live blocks of 8..512 bytes, then N
steps that each free a random block and allocate one in its place; every allocation goes
through ten nested functions, as in bench/contenders.ts. A block is `bytes(size - 33)`: one
PyObject_Malloc of `size` bytes (33 is the bytes object's header) and its free when the slot is
overwritten, so each step is one malloc+free pair plus the interpreter's loop. Untraced, then
tracemalloc.start(1), then start(10), alternating, each timed `--runs` times; the medians and
their ratios to untraced are printed as a Markdown table.
"""
import random
import statistics
import sys
import time
import tracemalloc

EMPTY = sys.getsizeof(b"")  # 33 on 64-bit CPython


def d10(size): return bytes(size)
def d9(size): return d10(size)
def d8(size): return d9(size)
def d7(size): return d8(size)
def d6(size): return d7(size)
def d5(size): return d6(size)
def d4(size): return d5(size)
def d3(size): return d4(size)
def d2(size): return d3(size)
def d1(size): return d2(size)


def churn(sizes, picks, live):
    slots = [d1(sizes[i]) for i in range(live)]
    start = time.perf_counter_ns()
    for i in range(live, len(sizes)):
        slots[picks[i]] = d1(sizes[i])
    elapsed = time.perf_counter_ns() - start
    return elapsed / (len(sizes) - live)


def main():
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    pairs = 10_000 if "--quick" in sys.argv else 50_000
    live = 10_000
    rng = random.Random(7)
    sizes = [max(0, rng.randint(8, 512) - EMPTY) for _ in range(live + pairs)]
    picks = [rng.randrange(live) for _ in range(live + pairs)]
    columns = {"untraced": 0, "traced, 1 frame": 1, "traced, 10 frames": 10}
    times = {name: [] for name in columns}
    churn(sizes, picks, live)  # warm-up
    for _ in range(runs):
        for name, nframe in columns.items():
            if nframe:
                tracemalloc.start(nframe)
            times[name].append(churn(sizes, picks, live))
            if nframe:
                tracemalloc.stop()
    base = statistics.median(times["untraced"])
    cells = []
    for name in columns:
        m = statistics.median(times[name])
        cells.append(f"{m:.0f} ({m / base:.2f}×)" if m >= 100 else f"{m:.1f} ({m / base:.2f}×)")
    print("| CPython " + sys.version.split()[0] + " | unit | " + " | ".join(columns) + " |")
    print("|---|---|" + "|".join("---:" for _ in columns) + "|")
    print(f"| churn 8..512 B, 10,000 live ({pairs:,} steps) | ns/pair | " + " | ".join(cells) + " |")
    print(f"\nmedian of {runs} run(s) per cell, in one process, columns alternating; ratios to the first column")


main()
