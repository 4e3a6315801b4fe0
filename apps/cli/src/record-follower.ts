/*
 * Converting the recorder's files while the program runs, so that the trace is written by the time
 * the program ends (on another core, as far as the machine has one) instead of after it. The
 * folder is looked at every POLL_MS for new files (a process that starts, forks or execs makes
 * one); each is converted as its records come. A file's writer is done when the program has
 * ended, when its process is gone, or when its process has exec'd (a file of its next image is
 * there): the conversion then reads it to the end once more and finishes.
 */
import { recordFiles } from "./record-file.ts";

/** How often the folder and the files are looked at again, in milliseconds. */
export const POLL_MS = 20;

/** One file of the recorder, as {@link recordFiles} lists it. */
export interface RecordFileEntry {
  readonly path: string;
  readonly pid: number;
  readonly image: number;
}

/**
 * Starts a conversion of every recorder file that appears in a folder, and waits for them.
 * `convert` gets the file and a `more` function for readRecords (true: more may come, after a
 * pause; false: the writer is done).
 */
export class RecordingFollower<T> {
  readonly #dir: string;
  readonly #convert: (file: RecordFileEntry, more: () => Promise<boolean>) => Promise<T>;
  readonly #tasks = new Map<string, Promise<PromiseSettledResult<T>>>();
  readonly #files: RecordFileEntry[] = [];
  readonly #timer: NodeJS.Timeout;
  #polling: Promise<void> = Promise.resolve();
  #ended = false;

  constructor(dir: string, convert: (file: RecordFileEntry, more: () => Promise<boolean>) => Promise<T>) {
    this.#dir = dir;
    this.#convert = convert;
    this.#timer = setInterval(() => this.#poll(), POLL_MS);
  }

  /** The program has ended: converts what is left, and returns each file's result by path. @throws the first conversion's error */
  async end(): Promise<ReadonlyMap<RecordFileEntry, T>> {
    this.#ended = true;
    clearInterval(this.#timer);
    this.#poll();
    await this.#polling;
    const results = new Map<RecordFileEntry, T>();
    for (const file of this.#files) {
      const settled = await this.#tasks.get(file.path)!;
      if (settled.status === "rejected") throw settled.reason;
      results.set(file, settled.value);
    }
    return results;
  }

  /** Looks for new files (one look at a time). */
  #poll(): void {
    this.#polling = this.#polling.then(async () => {
      for (const file of await recordFiles(this.#dir)) {
        if (this.#tasks.has(file.path)) continue;
        this.#files.push(file);
        // settled at once into a result: a failure is end()'s to report, never an unhandled rejection
        this.#tasks.set(
          file.path,
          this.#convert(file, () => this.#more(file)).then(
            (value): PromiseSettledResult<T> => ({ status: "fulfilled", value }),
            (reason: unknown): PromiseSettledResult<T> => ({ status: "rejected", reason }),
          ),
        );
      }
    });
  }

  /** Whether `file`'s writer may still write, after a pause. */
  async #more(file: RecordFileEntry): Promise<boolean> {
    if (this.#ended) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (this.#ended) return false;
    if (this.#files.some((other) => other.pid === file.pid && other.image > file.image)) return false;
    return alive(file.pid);
  }
}

/** True while the process is there (a zombie too: it may not have been waited for). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}
