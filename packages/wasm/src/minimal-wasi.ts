/*
 * A minimal WASI (preview 1) for running C programs where there is no node:wasi: a browser, a
 * worker. It offers what a wasi-libc program needs to start, talk and stop: its arguments and
 * environment, standard output and error (to functions, or the console), standard input (from
 * bytes given in advance), the clocks, random bytes, and proc_exit. There is no file system:
 * every other function of preview 1 answers ENOSYS, so that any module links and a program that
 * tries to open a file gets an error it can report, as it would without the permission.
 *
 * Layouts written into the program's memory (little-endian, WASI's witx):
 *
 *     iovec     { u32 buf; u32 buf_len }                               8 bytes
 *     fdstat    { u8 filetype; u16 flags @2; u64 rights_base @8; u64 rights_inheriting @16 }
 *     filestat  { u64 dev; u64 ino; u8 filetype @16; u64 nlink @24; u64 size @32; 3 × u64 times }
 */
import { describeValue, ErrorCode, TsmallocError } from "@tsmalloc/memory";
import { utf8, type Utf8Decoder, utf8Decoder } from "./text.ts";
import type { WasmExports, WasmMemory, WasmModuleImports } from "./webassembly.ts";

/** Options of {@link MinimalWasi}. */
export interface MinimalWasiOptions {
  /** The program's `argv`, its name first. @defaultValue `["program"]` */
  readonly args?: readonly string[];
  /** The program's environment. @defaultValue empty */
  readonly env?: Readonly<Record<string, string>>;
  /** Receives standard output as text. @defaultValue the process's stdout in Node, else `console.log` line by line */
  readonly stdout?: (text: string) => void;
  /** Receives standard error as text. @defaultValue the process's stderr in Node, else `console.error` line by line */
  readonly stderr?: (text: string) => void;
  /** What the program reads from standard input; after it, end of file. @defaultValue nothing */
  readonly stdin?: string | Uint8Array;
}

/**
 * Thrown by `proc_exit` to unwind the program; {@link MinimalWasi.start} catches it and returns
 * the status. A call into the module after it exited (an export called by hand) throws it too.
 */
export class ProgramExit extends Error {
  override readonly name: string = "ProgramExit";
  /** The exit status the program gave. */
  readonly status: number;
  constructor(status: number) {
    super(`the program exited with status ${status}`);
    this.status = status;
  }
}

// WASI errno values (wasi/api.h)
const SUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;
const ESPIPE = 70;
const FILETYPE_CHARACTER_DEVICE = 2;
const RIGHTS_FD_READ = 1n << 1n;
const RIGHTS_FD_WRITE = 1n << 6n;
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const CLOCK_PROCESS_CPUTIME = 2;
const CLOCK_THREAD_CPUTIME = 3;
/** crypto.getRandomValues fills at most this many bytes per call. */
const RANDOM_CHUNK = 65_536;

/** Every function of WASI preview 1; those without an implementation below answer ENOSYS. */
const PREVIEW1_FUNCTIONS: readonly string[] = [
  "args_get", "args_sizes_get", "clock_res_get", "clock_time_get", "environ_get", "environ_sizes_get",
  "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get", "fd_fdstat_set_flags",
  "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size", "fd_filestat_set_times", "fd_pread",
  "fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite", "fd_read", "fd_readdir", "fd_renumber", "fd_seek",
  "fd_sync", "fd_tell", "fd_write", "path_create_directory", "path_filestat_get", "path_filestat_set_times",
  "path_link", "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
  "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "random_get", "sched_yield", "sock_accept",
  "sock_recv", "sock_send", "sock_shutdown",
];

interface HostProcess {
  readonly stdout?: { write(text: string): unknown };
  readonly stderr?: { write(text: string): unknown };
}

interface HostConsole {
  log(text: string): void;
  error(text: string): void;
}

interface HostCrypto {
  getRandomValues(array: Uint8Array): Uint8Array;
}

interface HostPerformance {
  now(): number;
  readonly timeOrigin: number;
}

/** Text written to one of the standard streams, decoded across writes (a UTF-8 character may be split). */
class OutputStream {
  readonly #decoder: Utf8Decoder = utf8Decoder();
  readonly #sink: (text: string) => void;
  constructor(sink: (text: string) => void) {
    this.#sink = sink;
  }
  write(bytes: Uint8Array): void {
    const text = this.#decoder.decode(bytes, { stream: true });
    if (text !== "") this.#sink(text);
  }
  flush(): void {
    const text = this.#decoder.decode();
    if (text !== "") this.#sink(text);
  }
}

/** The console, a line at a time (console.log adds the line break itself). */
function consoleLines(print: (text: string) => void): { write: (text: string) => void; flush: () => void } {
  let pending = "";
  return {
    write: (text: string): void => {
      pending += text;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        print(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    },
    flush: (): void => {
      if (pending !== "") print(pending);
      pending = "";
    },
  };
}

function defaultSink(stream: "stdout" | "stderr"): { write: (text: string) => void; flush: () => void } {
  const host = globalThis as { process?: HostProcess; console?: HostConsole };
  const out = host.process?.[stream];
  if (out !== undefined) return { write: (text: string): void => void out.write(text), flush: (): void => {} };
  const print = stream === "stdout" ? (text: string): void => host.console?.log(text) : (text: string): void => host.console?.error(text);
  return consoleLines(print);
}

function encodeAll(strings: readonly string[]): Uint8Array[] {
  return strings.map((s) => utf8(`${s}\0`));
}

/**
 * A minimal WASI preview 1, for browsers and wherever there is no node:wasi. `instantiate()`
 * uses it with `wasi: { host: "minimal" }` and by default outside Node; for a module you
 * instantiate yourself, import `wasiImport` as `wasi_snapshot_preview1` and call
 * `start(instance, memory)`.
 *
 * @example
 * ```ts
 * const wasi = new MinimalWasi({ args: ["hello"], stdout: (text) => (output.textContent += text) });
 * const instance = await WebAssembly.instantiate(module, { env: { memory }, wasi_snapshot_preview1: wasi.wasiImport });
 * const status = wasi.start(instance, memory);
 * ```
 */
export class MinimalWasi {
  /** The functions to import as `wasi_snapshot_preview1`: all of preview 1's. */
  readonly wasiImport: WasmModuleImports;
  readonly #args: Uint8Array[];
  readonly #env: Uint8Array[];
  readonly #stdout: OutputStream;
  readonly #stderr: OutputStream;
  readonly #flushSinks: () => void;
  readonly #stdin: Uint8Array;
  #stdinAt = 0;
  #memory: WasmMemory | null = null;
  #started = false;

  /**
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for an option of the wrong type
   */
  constructor(options: MinimalWasiOptions = {}) {
    checkMinimalWasiOptions(options, "MinimalWasi");
    this.#args = encodeAll(options.args ?? ["program"]);
    this.#env = encodeAll(Object.entries(options.env ?? {}).map(([name, value]) => `${name}=${value}`));
    const out = options.stdout === undefined ? defaultSink("stdout") : { write: options.stdout, flush: (): void => {} };
    const err = options.stderr === undefined ? defaultSink("stderr") : { write: options.stderr, flush: (): void => {} };
    this.#stdout = new OutputStream(out.write);
    this.#stderr = new OutputStream(err.write);
    this.#flushSinks = (): void => {
      out.flush();
      err.flush();
    };
    const stdin = options.stdin ?? new Uint8Array(0);
    this.#stdin = typeof stdin === "string" ? utf8(stdin) : stdin;

    const imports: WasmModuleImports = {};
    const nosys = (): number => ENOSYS;
    for (const name of PREVIEW1_FUNCTIONS) imports[name] = nosys;
    Object.assign(imports, {
      args_sizes_get: (argc: number, bufSize: number): number => this.#sizes(this.#args, argc, bufSize),
      args_get: (argv: number, buf: number): number => this.#strings(this.#args, argv, buf),
      environ_sizes_get: (count: number, bufSize: number): number => this.#sizes(this.#env, count, bufSize),
      environ_get: (environ: number, buf: number): number => this.#strings(this.#env, environ, buf),
      fd_write: (fd: number, iovs: number, count: number, written: number): number => this.#write(fd, iovs, count, written),
      fd_read: (fd: number, iovs: number, count: number, read: number): number => this.#read(fd, iovs, count, read),
      fd_close: (fd: number): number => (isStdio(fd) ? SUCCESS : EBADF),
      fd_seek: (fd: number): number => (isStdio(fd) ? ESPIPE : EBADF),
      fd_tell: (fd: number): number => (isStdio(fd) ? ESPIPE : EBADF),
      fd_sync: (fd: number): number => (isStdio(fd) ? SUCCESS : EBADF),
      fd_fdstat_get: (fd: number, out: number): number => this.#fdstat(fd, out),
      fd_filestat_get: (fd: number, out: number): number => this.#filestat(fd, out),
      fd_prestat_get: (): number => EBADF, // no preopened directories: the list ends at once
      fd_prestat_dir_name: (): number => EBADF,
      clock_res_get: (id: number, out: number): number => this.#clockRes(id, out),
      clock_time_get: (id: number, _precision: bigint, out: number): number => this.#clockTime(id, out),
      random_get: (buf: number, length: number): number => this.#random(buf, length),
      sched_yield: (): number => SUCCESS,
      proc_exit: (status: number): never => {
        throw new ProgramExit(status >>> 0);
      },
    });
    this.wasiImport = imports;
  }

  /**
   * Runs the program: its `_start` export (a WASI command), once.
   * @param memory the program's memory; default its `memory` export
   * @returns the exit status: 0 when `main` returned 0, else what it returned or gave `exit()`
   * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` when there is no `_start` or no
   *   memory, or the program was started before; whatever the program throws (a trap, an
   *   allocator's error)
   */
  start(instance: { readonly exports: WasmExports }, memory?: WasmMemory): number {
    const start = this.#bind(instance, memory, "_start", "start");
    try {
      start();
      return 0;
    } catch (error) {
      if (error instanceof ProgramExit) return error.status;
      throw error;
    } finally {
      this.flush();
    }
  }

  /**
   * Initialises a WASI reactor: its `_initialize` export, once.
   * @throws {@link TsmallocError} as {@link MinimalWasi.start}, for `_initialize`
   */
  initialize(instance: { readonly exports: WasmExports }, memory?: WasmMemory): void {
    const initialize = this.#bind(instance, memory, "_initialize", "initialize");
    try {
      initialize();
    } finally {
      this.flush();
    }
  }

  /** Hands on what is left of a partial line or character on the standard streams. */
  flush(): void {
    this.#stdout.flush();
    this.#stderr.flush();
    this.#flushSinks();
  }

  #bind(instance: { readonly exports: WasmExports }, memory: WasmMemory | undefined, name: string, fn: string): () => void {
    const exports = instance?.exports;
    const entry = exports?.[name];
    if (typeof entry !== "function") throw optionError(`MinimalWasi.${fn}: the instance has no ${name} export`);
    const chosen = memory ?? exports["memory"];
    if (!isMemory(chosen)) throw optionError(`MinimalWasi.${fn}: give the program's memory (it exports none), got ${describeValue(chosen)}`);
    if (this.#started) throw optionError(`MinimalWasi.${fn}: the program was started already`);
    this.#started = true;
    this.#memory = chosen;
    return entry as () => void;
  }

  #view(): DataView {
    const memory = this.#memory;
    if (memory === null) throw optionError("MinimalWasi: called before start() or initialize() gave it the memory");
    return new DataView(memory.buffer);
  }

  #sizes(strings: readonly Uint8Array[], countAt: number, bytesAt: number): number {
    const view = this.#view();
    view.setUint32(countAt >>> 0, strings.length, true);
    view.setUint32(bytesAt >>> 0, strings.reduce((sum, s) => sum + s.length, 0), true);
    return SUCCESS;
  }

  #strings(strings: readonly Uint8Array[], pointersAt: number, bytesAt: number): number {
    const view = this.#view();
    const u8 = new Uint8Array(view.buffer);
    let at = bytesAt >>> 0;
    strings.forEach((s, i) => {
      view.setUint32((pointersAt >>> 0) + 4 * i, at, true);
      u8.set(s, at);
      at += s.length;
    });
    return SUCCESS;
  }

  #write(fd: number, iovs: number, count: number, writtenAt: number): number {
    const stream = fd === 1 ? this.#stdout : fd === 2 ? this.#stderr : null;
    if (stream === null) return EBADF;
    const view = this.#view();
    let written = 0;
    for (let i = 0; i < count >>> 0; i++) {
      const buf = view.getUint32((iovs >>> 0) + 8 * i, true);
      const length = view.getUint32((iovs >>> 0) + 8 * i + 4, true);
      if (buf + length > view.byteLength) return EFAULT;
      stream.write(new Uint8Array(view.buffer, buf, length));
      written += length;
    }
    view.setUint32(writtenAt >>> 0, written, true);
    return SUCCESS;
  }

  #read(fd: number, iovs: number, count: number, readAt: number): number {
    if (fd !== 0) return EBADF;
    const view = this.#view();
    const u8 = new Uint8Array(view.buffer);
    let read = 0;
    for (let i = 0; i < count >>> 0 && this.#stdinAt < this.#stdin.length; i++) {
      const buf = view.getUint32((iovs >>> 0) + 8 * i, true);
      const length = view.getUint32((iovs >>> 0) + 8 * i + 4, true);
      if (buf + length > view.byteLength) return EFAULT;
      const chunk = this.#stdin.subarray(this.#stdinAt, this.#stdinAt + length);
      u8.set(chunk, buf);
      this.#stdinAt += chunk.length;
      read += chunk.length;
    }
    view.setUint32(readAt >>> 0, read, true);
    return SUCCESS;
  }

  #fdstat(fd: number, out: number): number {
    if (!isStdio(fd)) return EBADF;
    const view = this.#view();
    const at = out >>> 0;
    // a character device without seek or tell: wasi-libc takes it for a terminal and buffers by line
    view.setUint8(at, FILETYPE_CHARACTER_DEVICE);
    view.setUint16(at + 2, 0, true);
    view.setBigUint64(at + 8, fd === 0 ? RIGHTS_FD_READ : RIGHTS_FD_WRITE, true);
    view.setBigUint64(at + 16, 0n, true);
    return SUCCESS;
  }

  #filestat(fd: number, out: number): number {
    if (!isStdio(fd)) return EBADF;
    const view = this.#view();
    const at = out >>> 0;
    for (let i = 0; i < 64; i += 8) view.setBigUint64(at + i, 0n, true);
    view.setUint8(at + 16, FILETYPE_CHARACTER_DEVICE);
    return SUCCESS;
  }

  #clockRes(id: number, out: number): number {
    if (!isClock(id)) return EINVAL;
    this.#view().setBigUint64(out >>> 0, id === CLOCK_REALTIME ? 1_000_000n : 1_000n, true);
    return SUCCESS;
  }

  #clockTime(id: number, out: number): number {
    if (!isClock(id)) return EINVAL;
    const performance = (globalThis as { performance?: HostPerformance }).performance;
    const ms = id === CLOCK_REALTIME ? (performance === undefined ? Date.now() : performance.timeOrigin + performance.now()) : (performance?.now() ?? Date.now());
    this.#view().setBigUint64(out >>> 0, BigInt(Math.round(ms * 1e6)), true);
    return SUCCESS;
  }

  #random(buf: number, length: number): number {
    const crypto = (globalThis as { crypto?: HostCrypto }).crypto;
    if (crypto === undefined) return ENOSYS;
    const view = this.#view();
    const start = buf >>> 0;
    const end = start + (length >>> 0);
    if (end > view.byteLength) return EFAULT;
    // filled through a copy: getRandomValues refuses views of some buffers (a shared one)
    for (let at = start; at < end; at += RANDOM_CHUNK) {
      const chunk = new Uint8Array(Math.min(RANDOM_CHUNK, end - at));
      crypto.getRandomValues(chunk);
      new Uint8Array(view.buffer).set(chunk, at);
    }
    return SUCCESS;
  }
}

function isStdio(fd: number): boolean {
  return fd === 0 || fd === 1 || fd === 2;
}

function isClock(id: number): boolean {
  return id === CLOCK_REALTIME || id === CLOCK_MONOTONIC || id === CLOCK_PROCESS_CPUTIME || id === CLOCK_THREAD_CPUTIME;
}

function isMemory(value: unknown): value is WasmMemory {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { buffer?: unknown; grow?: unknown };
  return typeof candidate.grow === "function" && typeof candidate.buffer === "object" && candidate.buffer !== null;
}

function optionError(message: string): TsmallocError {
  return new TsmallocError(ErrorCode.InvalidOption, message);
}

/**
 * Checks the options of the minimal WASI.
 * @throws {@link TsmallocError} `ERR_TSMALLOC_INVALID_OPTION` for one of the wrong type
 * @internal
 */
export function checkMinimalWasiOptions(options: MinimalWasiOptions, fn: string): void {
  if (typeof options !== "object" || options === null) throw optionError(`${fn}: options must be an object, got ${describeValue(options)}`);
  const { args, env, stdout, stderr, stdin } = options;
  if (args !== undefined && !(Array.isArray(args) && args.every((a) => typeof a === "string"))) {
    throw optionError(`${fn}: args must be an array of strings, got ${describeValue(args)}`);
  }
  if (env !== undefined && (typeof env !== "object" || env === null || !Object.values(env).every((v) => typeof v === "string"))) {
    throw optionError(`${fn}: env must be an object of strings, got ${describeValue(env)}`);
  }
  if (stdout !== undefined && typeof stdout !== "function") throw optionError(`${fn}: stdout must be a function, got ${describeValue(stdout)}`);
  if (stderr !== undefined && typeof stderr !== "function") throw optionError(`${fn}: stderr must be a function, got ${describeValue(stderr)}`);
  if (stdin !== undefined && typeof stdin !== "string" && !(stdin instanceof Uint8Array)) {
    throw optionError(`${fn}: stdin must be a string or a Uint8Array, got ${describeValue(stdin)}`);
  }
}
