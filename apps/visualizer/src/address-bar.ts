/*
 * What the address bar asks for: `?trace=NAME&config=NAME&event=N`. A value the page cannot use
 * is not an error: the page opens what it can and says, on its notice line, what it did instead.
 *
 *   ?trace    a bundled trace's name          else the first bundled trace
 *   ?config   a TSMALLOC configuration        else default
 *   ?event    0 to the trace's length         else the peak of live bytes (no value: the peak too);
 *                                             past the end: the end
 */
import { ALLOCATOR_CONFIGS, type AllocatorConfig, isAllocatorConfig } from "@tsmalloc/registry";
import { formatCount } from "@tsmalloc/trace/browser";

/** What the page opens with, read from the address bar. */
export interface AddressRequest {
  /** The bundled trace to open. */
  readonly trace: string;
  readonly config: AllocatorConfig;
  /** `?event` as written, or null when there is none (the peak). */
  readonly event: string | null;
  /** What was wrong with `?trace` and `?config`, each saying what is used instead. */
  readonly notices: readonly string[];
}

/**
 * Reads `search` (`location.search`).
 * @param traces - the bundled traces' names, the default first
 */
export function readAddress(search: string, traces: readonly string[]): AddressRequest {
  const params = new URLSearchParams(search);
  const notices: string[] = [];
  const configText = params.get("config") ?? "default";
  const config = isAllocatorConfig(configText) ? configText : "default";
  if (config !== configText) notices.push(`?config=${configText} is not a configuration (${ALLOCATOR_CONFIGS.join(", ")}): using default`);
  const traceText = params.get("trace") ?? traces[0]!;
  const trace = traces.includes(traceText) ? traceText : traces[0]!;
  if (trace !== traceText) notices.push(`?trace=${traceText} is not a bundled trace (${traces.join(", ")}): using ${trace}`);
  return { trace, config, event: params.get("event"), notices };
}

/** Where to open a trace of `length` events: the event count, and what was wrong with the request ("" when nothing). */
export interface EventTarget {
  readonly event: number;
  readonly notice: string;
}

/**
 * The event count `?event=text` opens at, for a trace of `length` events whose live bytes peak
 * after event `peak`: a whole number up to `length` as it is; a larger one is the end; anything
 * else (`-3`, `1.5`, `ten`, an empty value) is the peak, with a notice saying so. `text` "peak"
 * (or null) is the peak, with no notice.
 */
export function eventTarget(text: string | null, length: number, peak: number): EventTarget {
  if (text === null || text === "peak") return { event: peak, notice: "" };
  if (/^\d+$/.test(text)) {
    const event = Number(text);
    if (event <= length) return { event, notice: "" };
    return { event: length, notice: `?event=${text} is past the end of the trace (${formatCount(length)} events): opening at its end` };
  }
  return { event: peak, notice: `?event=${text} is not an event number (0 to ${formatCount(length)}): opening at the peak of live bytes, after event ${formatCount(peak)}` };
}
