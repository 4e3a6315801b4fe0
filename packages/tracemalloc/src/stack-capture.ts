/*
 * Capturing and interning tracebacks with V8's structured stack API. On every traced allocation:
 *
 *   Error.stackTraceLimit = nframe + slack
 *   Error.prepareStackTrace = intern            (ours, for the length of the capture)
 *   Error.captureStackTrace(holder, hookMethod) (frames from the hook's caller outwards)
 *   holder.stack                                -> intern(holder, callSites) -> traceback id
 *
 * `intern` reads the call sites without formatting anything:
 *
 *   [ wrappers …, Runtime.memMalloc, memMalloc, userLine, userCaller, … ]
 *                 \_______ entry frames _______/ \____ kept (nframe) ____/
 *
 * Frames up to the outermost entry point of the registry (`rawMalloc` … `objRealloc`, or
 * `trackExternal`), found by name, are tsmalloc's own and are dropped: the first frame kept is the
 * line that called the entry point. When a WebAssembly module calls in, its `malloc` (or another
 * C allocation function, see wasm-frame.ts) is the allocator's too, and so is the JavaScript
 * import between it and the entry point:
 *
 *   [ Runtime.memMalloc, malloc (import, JS), malloc (wasm), overflow (wasm), main (wasm), … ]
 *     \______________ dropped: the allocator's ______________/ \____ kept (nframe) ____/
 *
 * Such a frame is known by its call site (marked once in the RawFrameTable). The import's own
 * frames are JavaScript functions named as C's (`malloc`: the import wrapper of @tsmalloc/wasm);
 * when one is among the first frames kept, the first GLUE_FRAMES frames past the entry point are
 * looked at (and captured: a longer window) even when nframe are already kept, to find the
 * module's malloc behind it. A JavaScript program that names no function `malloc` pays nothing. Frames with no script (built-ins such as `Array.prototype.map`)
 * are skipped, as CPython's frames are Python's only. When the window was too short (wrappers
 * between the entry point and the hook, built-in frames), the capture is repeated with a longer
 * one.
 *
 * Each kept site is a (script, line, column) known by number; its interned frame is found in the
 * RawFrameTable, the sequence of frame ids in the TracebackTable. A capture whose frames were
 * all seen before allocates only what V8 allocates for it (the holder and its call sites).
 */
import { Frame } from "./frame.ts";
import { displayFilename } from "./host.ts";
import { RawFrameTable } from "./raw-frame-table.ts";
import { type CallSite, sourcePosition } from "./source-position.ts";
import type { Traceback } from "./traceback.ts";
import { TracebackTable } from "./traceback-table.ts";
import { C_ALLOCATION_FUNCTIONS, wasmSource } from "./wasm-frame.ts";

/** The id of the traceback `<unknown>:0`, for a call with no JavaScript frame (CPython's empty traceback). */
export const UNKNOWN_TRACEBACK = 0;

/** The names of the functions a captured stack starts after: the registry's entry points. */
const ENTRY_NAMES: ReadonlySet<string> = new Set([
  "rawMalloc",
  "rawCalloc",
  "rawRealloc",
  "memMalloc",
  "memCalloc",
  "memRealloc",
  "objMalloc",
  "objCalloc",
  "objRealloc",
  "trackExternal",
]);

/** The RawFrameTable's mark of a C allocation function of a wasm module (not a frame: dropped). */
const C_ALLOCATOR_FRAME = -2;
/**
 * Frames past the entry point where a C allocation function may still be found: the import's
 * JavaScript between it and the entry point (at most `aligned_alloc` -> AlignedBlocks.allocate ->
 * `malloc` -> the entry point in @tsmalloc/wasm).
 */
const GLUE_FRAMES = 4;

/** What intern answers when the window held too few frames. */
const NEED_MORE = -1;
/** The longest window a capture grows to, beyond nframe. */
const MAX_EXTRA = 256;
/** The frame name of eval'd code without a script. */
const EVAL_SCRIPT = "<eval>";

/** V8's additions to Error (Node, Chrome, Deno, Bun). */
interface V8ErrorConstructor {
  stackTraceLimit?: unknown;
  prepareStackTrace?: unknown;
  captureStackTrace?(target: object, constructorOpt?: unknown): void;
}

const V8Error = Error as V8ErrorConstructor;

/**
 * One tracer's frames and tracebacks: captures them on the hot path and interns them (CPython's
 * `tracemalloc_filenames`, `tracemalloc_tracebacks`). @internal
 */
export class StackCapture {
  #scripts = new Map<string, number>();
  #rawFrames = new RawFrameTable();
  /** The interned frames, by id. */
  #frames: Frame[] = [];
  #frameIds = new Map<string, number>();
  /** The interned JavaScript frames of functions named as a C allocation function (an import's wrapper, maybe). */
  #glueFrames = new Set<number>();
  #tracebacks = new TracebackTable();
  #scratch = new Int32Array(1);
  #nframe = 1;
  /** The window of the capture in progress. */
  #limit = 0;
  /**
   * The allocator's frames past the entry point that the last capture dropped (a wasm module's
   * malloc and its import): the next window is that much longer, so that a C program's every
   * allocation is captured once, not twice.
   */
  #glueSlack = 0;
  /** Error.prepareStackTrace and stackTraceLimit as they were before the capture in progress. */
  #outerFormatter: unknown = undefined;
  #outerLimit: unknown = undefined;
  readonly #intern = (_holder: unknown, sites: CallSite[]): number => this.#internSites(sites);
  /** The object V8 hangs each captured stack on (one for all captures: no allocation of ours). */
  readonly #holder: { stack?: unknown } = {};

  constructor() {
    this.clear();
  }

  /** The frames kept per traceback (CPython's `max_nframe`). */
  get nframe(): number {
    return this.#nframe;
  }

  set nframe(n: number) {
    this.#nframe = n;
    if (this.#scratch.length < n) this.#scratch = new Int32Array(n);
  }

  /**
   * Captures the stack of the caller of `entry` (a function on the stack: the hook's method that
   * was called) and interns it.
   * @param slack frames allowed between `entry` and the caller's first frame (entry points, wrappers)
   * @returns the traceback id; {@link UNKNOWN_TRACEBACK} where the engine has no captureStackTrace
   */
  capture(entry: unknown, slack: number): number {
    const captureStackTrace = V8Error.captureStackTrace;
    if (typeof captureStackTrace !== "function") return UNKNOWN_TRACEBACK;
    const outerLimit = V8Error.stackTraceLimit;
    const outerFormatter = V8Error.prepareStackTrace;
    this.#outerLimit = outerLimit;
    this.#outerFormatter = outerFormatter;
    let limit = this.#nframe + slack + this.#glueSlack;
    let id = UNKNOWN_TRACEBACK;
    try {
      V8Error.prepareStackTrace = this.#intern;
      for (;;) {
        this.#limit = limit;
        V8Error.stackTraceLimit = limit;
        const holder = this.#holder;
        captureStackTrace.call(V8Error, holder, entry);
        const result = holder.stack;
        if (result !== NEED_MORE) {
          if (typeof result === "number") id = result;
          break;
        }
        limit *= 2;
      }
    } finally {
      V8Error.stackTraceLimit = outerLimit;
      V8Error.prepareStackTrace = outerFormatter;
    }
    return id;
  }

  /** The Traceback object of traceback `id` (oldest frame first), made once. */
  traceback(id: number): Traceback {
    return this.#tracebacks.traceback(id, this.#frames);
  }

  /** The frames of traceback `id`, most recent first, as the debug hooks' report prints them. */
  reportFrames(id: number): { file: string; line: number }[] {
    const table = this.#tracebacks;
    const pool = table.pool();
    const start = table.start(id);
    const frames: { file: string; line: number }[] = [];
    for (let i = start; i < start + table.length(id); i++) {
      const frame = this.#frames[pool[i]!]!;
      frames.push({ file: frame.filename, line: frame.lineno });
    }
    return frames;
  }

  /** Forgets every frame and traceback (CPython's clearing of its intern tables). */
  clear(): void {
    this.#scripts = new Map();
    this.#rawFrames = new RawFrameTable();
    this.#frames = [new Frame("<unknown>", 0)];
    this.#frameIds = new Map([["<unknown>\u00000", 0]]);
    this.#glueFrames = new Set();
    this.#tracebacks = new TracebackTable();
    this.#scratch[0] = 0;
    this.#tracebacks.intern(this.#scratch, 1, hashStep(HASH_SEED, 0));
  }

  /**
   * An estimate of the bytes the tables take: the typed arrays exactly; script names, frames
   * and Traceback objects at a fixed estimate each (V8 does not say).
   */
  get byteLength(): number {
    let bytes = this.#rawFrames.byteLength + this.#tracebacks.byteLength + this.#scratch.byteLength;
    for (const script of this.#scripts.keys()) bytes += MAP_ENTRY_BYTES + 2 * script.length;
    for (const frame of this.#frames) bytes += MAP_ENTRY_BYTES + OBJECT_BYTES + 2 * frame.filename.length;
    bytes += this.#tracebacks.objectCount * (OBJECT_BYTES * 2);
    return bytes;
  }

  #internSites(sites: CallSite[]): number {
    const count = sites.length;
    const nframe = this.#nframe;
    // skip tsmalloc's frames: everything up to the outermost registry entry point
    let start = 0;
    for (let i = 0; i < count; i++) {
      const name = sites[i]!.getFunctionName();
      if (name !== null && ENTRY_NAMES.has(name)) {
        start = i + 1;
        // the package's function of the same name around the Runtime method (memMalloc() -> runtime.memMalloc)
        while (start < count && sites[start]!.getFunctionName() === name) start++;
        break;
      }
    }
    const ids = this.#scratch;
    let n = 0;
    let hash = HASH_SEED;
    const glueEnd = start + GLUE_FRAMES;
    let glue = false;
    let glueSlack = 0;
    for (let i = start; i < count && (n < nframe || (glue && i < glueEnd)); i++) {
      const site = sites[i]!;
      let script = site.getScriptNameOrSourceURL();
      if (typeof script !== "string" || script === "") {
        if (!site.isEval()) continue; // a built-in: no JavaScript source
        script = EVAL_SCRIPT;
      }
      const position = site.getPosition();
      let scriptId = this.#scripts.get(script);
      if (scriptId === undefined) {
        scriptId = this.#scripts.size;
        this.#scripts.set(script, scriptId);
      }
      let frame = this.#rawFrames.get(scriptId, position);
      if (frame === -1) frame = this.#newFrame(site, script, scriptId, position);
      if (frame === C_ALLOCATOR_FRAME) {
        // a wasm module's malloc: it and the frames kept so far (its import) are the allocator's
        n = 0;
        hash = HASH_SEED;
        glue = false;
        glueSlack = i + 1 - start;
        continue;
      }
      if (i < glueEnd && this.#glueFrames.has(frame)) glue = true;
      if (n === nframe) continue; // only looking for the allocator's frames
      ids[n++] = frame;
      hash = hashStep(hash, frame);
    }
    this.#glueSlack = glueSlack;
    if ((n < nframe || (glue && count < glueEnd)) && count === this.#limit && this.#limit < nframe + MAX_EXTRA) return NEED_MORE;
    if (n === 0) return UNKNOWN_TRACEBACK;
    return this.#tracebacks.intern(ids, n, hash);
  }

  /**
   * The cold path: a position never seen, mapped to its source and interned.
   * @returns the frame id, or C_ALLOCATOR_FRAME for a wasm module's allocation function
   */
  #newFrame(site: CallSite, script: string, scriptId: number, position: number): number {
    // the mapping runs with the host's stack settings, in case it looks at stacks itself
    const ours = V8Error.prepareStackTrace;
    const ourLimit = V8Error.stackTraceLimit;
    V8Error.prepareStackTrace = this.#outerFormatter;
    V8Error.stackTraceLimit = this.#outerLimit;
    const line = site.getLineNumber() ?? 0;
    let source = { file: script, line };
    let filename: string;
    let wasmFrame = false;
    try {
      const wasm = wasmSource(site, script);
      if (wasm !== undefined) {
        if (wasm.allocator) {
          this.#rawFrames.set(scriptId, position, C_ALLOCATOR_FRAME);
          return C_ALLOCATOR_FRAME;
        }
        source = wasm;
        filename = wasm.file;
        wasmFrame = true;
      } else {
        // eval'd code has no source to map to: its lines are the eval'd string's
        if (script !== EVAL_SCRIPT) source = sourcePosition(site, script, line, site.getColumnNumber() ?? 0, this.#outerFormatter);
        filename = displayFilename(source.file);
      }
    } finally {
      V8Error.prepareStackTrace = ours;
      V8Error.stackTraceLimit = ourLimit;
    }
    const key = `${filename}\u0000${source.line}`;
    let id = this.#frameIds.get(key);
    if (id === undefined) {
      id = this.#frames.length;
      this.#frames.push(new Frame(filename, source.line));
      this.#frameIds.set(key, id);
    }
    if (!wasmFrame) {
      const name = site.getFunctionName();
      if (name !== null && C_ALLOCATION_FUNCTIONS.has(name)) this.#glueFrames.add(id);
    }
    this.#rawFrames.set(scriptId, position, id);
    return id;
  }
}

const HASH_SEED = 0x811c9dc5 | 0;
/** Estimated bytes of a Map entry and of a small object (for getTracemallocMemory). */
const MAP_ENTRY_BYTES = 32;
const OBJECT_BYTES = 48;

function hashStep(hash: number, frame: number): number {
  return Math.imul(hash ^ frame, 0x01000193);
}
