/*
 * The page: wires the controls to a ReplaySession and draws the heaps.
 *
 * Work and drawing happen in one requestAnimationFrame callback: it applies events (a seek or the
 * playing speed, within a time budget so the page keeps answering), then draws once if the
 * session's version moved. Every figure, cell and field drawn is read from the runtime's memory
 * at that moment (pymalloc's inspect functions, stats(), the debug hooks' report).
 */
import { blocksPerPool, classSize, formatStats, inspectArenaObject, inspectPool, type Pymalloc } from "@tsmalloc/pymalloc";
import { formatAddress as hex } from "@tsmalloc/memory";
import { ALLOCATOR_CONFIGS, type AllocatorConfig, isAllocatorConfig } from "@tsmalloc/registry";
import { formatBytes as bytes, formatCount as count, formatCounted as counted, OP_FREE, type Trace } from "@tsmalloc/trace/browser";
import { eventTarget, readAddress } from "./address-bar.ts";
import { arenaRows, describeRows, isCarved, poolAddress } from "./arena-map.ts";
import { ArenaPainter, type MapHit } from "./arena-painter.ts";
import { bundledTrace, PAGE_TRACES } from "./bundled-traces.ts";
import { arenaDetails, type DetailRow, poolDetails } from "./details.ts";
import { describeEvent } from "./events.ts";
import { mallocStatsText, pymallocStatsText } from "./heap-text.ts";
import { Plot } from "./plot.ts";
import { ReplaySession } from "./replay-session.ts";
import { statusLine } from "./status-line.ts";
import { traceFromBlob, traceFromUrl } from "./trace-loading.ts";

/** Milliseconds of replay per frame at most, so that a frame stays near 16 ms. */
const WORK_BUDGET_MS = 8;
/** Events applied between two looks at the clock. */
const CHUNK_EVENTS = 4_096;
/** Free-list entries listed in the details before "and N more". */
const FREE_LIST_SHOWN = 256;

interface Selection {
  pool: number;
  arenaObject: number;
}

/** The page's elements, found once. */
function elements(doc: Document) {
  const get = <T extends HTMLElement>(id: string): T => {
    const element = doc.getElementById(id);
    if (element === null) throw new Error(`the page has no #${id}`);
    return element as T;
  };
  return {
    traceSelect: get<HTMLSelectElement>("trace-select"),
    traceFile: get<HTMLInputElement>("trace-file"),
    configSelect: get<HTMLSelectElement>("config-select"),
    status: get("status"),
    notice: get("notice"),
    reset: get<HTMLButtonElement>("reset"),
    stepBack: get<HTMLButtonElement>("step-back"),
    play: get<HTMLButtonElement>("play"),
    step: get<HTMLButtonElement>("step"),
    toPeak: get<HTMLButtonElement>("to-peak"),
    toEnd: get<HTMLButtonElement>("to-end"),
    speed: get<HTMLSelectElement>("speed"),
    scrub: get<HTMLInputElement>("scrub"),
    position: get("position"),
    lastEvent: get("last-event"),
    nextEvent: get("next-event"),
    arenaCount: get("arena-count"),
    poolCount: get("pool-count"),
    liveBytes: get("live-bytes"),
    footprint: get("footprint"),
    failures: get("failures"),
    map: get<HTMLCanvasElement>("map"),
    mapScroll: get("map-scroll"),
    mapSummary: get("map-summary"),
    mapNote: get("map-note"),
    legend: get("legend"),
    details: get("details"),
    plot: get<HTMLCanvasElement>("plot"),
    debugOff: get("debug-off"),
    debugOn: get("debug-on"),
    useDebug: get<HTMLButtonElement>("use-debug"),
    blockId: get<HTMLInputElement>("block-id"),
    pickNext: get<HTMLButtonElement>("pick-next"),
    blockInfo: get("block-info"),
    overflowBytes: get<HTMLInputElement>("overflow-bytes"),
    inject: get<HTMLButtonElement>("inject"),
    freeNow: get<HTMLButtonElement>("free-now"),
    debugMessage: get("debug-message"),
    fault: get("fault"),
    report: get("report"),
    pymallocStats: get("pymalloc-stats"),
    mallocStats: get("malloc-stats"),
  };
}

type Elements = ReturnType<typeof elements>;

/** Starts the page in `doc`, reading `?trace=`, `?config=` and `?event=` from `location`. */
export function startApp(doc: Document, location: Location): void {
  new App(doc, location).start();
}

class App {
  readonly #doc: Document;
  readonly #location: Location;
  readonly #ui: Elements;
  readonly #painter: ArenaPainter;
  readonly #plot: Plot;
  #session: ReplaySession | null = null;
  #bundledName: string | null = null;
  /** Where a seek is going (events), or null. */
  #goal: number | null = null;
  #playing = false;
  #loading = false;
  /** Counts loads started: a load that finishes after a newer one began is dropped. */
  #loads = 0;
  #frame = 0;
  #drawnVersion = -1;
  #selection: Selection = { pool: 0, arenaObject: 0 };
  /** Something besides the heaps changed (selection, panel state): draw on the next frame. */
  #uiDirty = true;
  /** What was wrong with the address bar, said again with what was wrong with `?event` once the first trace has loaded. */
  #addressNotices: readonly string[] = [];

  constructor(doc: Document, location: Location) {
    this.#doc = doc;
    this.#location = location;
    this.#ui = elements(doc);
    this.#painter = new ArenaPainter(this.#ui.map);
    this.#plot = new Plot(this.#ui.plot);
  }

  start(): void {
    const ui = this.#ui;
    for (const entry of PAGE_TRACES) ui.traceSelect.add(new Option(`${entry.name}: ${entry.description}`, entry.name));
    for (const config of ALLOCATOR_CONFIGS) ui.configSelect.add(new Option(config, config));
    const request = readAddress(this.#location.search, PAGE_TRACES.map((entry) => entry.name));
    ui.configSelect.value = request.config;
    ui.traceSelect.value = request.trace;
    this.#addressNotices = request.notices;
    this.#notify(request.notices);
    this.#wire();
    void this.#loadBundled(request.trace, request.event);
  }

  #wire(): void {
    const ui = this.#ui;
    ui.traceSelect.addEventListener("change", () => void this.#loadBundled(ui.traceSelect.value, null));
    ui.traceFile.addEventListener("change", () => {
      const file = ui.traceFile.files?.[0];
      if (file !== undefined) void this.#loadFile(file);
    });
    ui.configSelect.addEventListener("change", () => this.#switchConfig(ui.configSelect.value));
    ui.useDebug.addEventListener("click", () => {
      ui.configSelect.value = "debug";
      this.#switchConfig("debug");
    });
    ui.reset.addEventListener("click", () => this.#seek(0));
    ui.stepBack.addEventListener("click", () => this.#seek(Math.max(0, (this.#session?.cursor ?? 0) - 1)));
    ui.step.addEventListener("click", () => this.#stepForward());
    ui.play.addEventListener("click", () => this.#togglePlay());
    ui.toPeak.addEventListener("click", () => this.#seek(this.#session?.series.peakEvent ?? 0));
    ui.toEnd.addEventListener("click", () => this.#seek(this.#session?.length ?? 0));
    ui.scrub.addEventListener("input", () => this.#seek(Number(ui.scrub.value)));
    ui.map.addEventListener("click", (event) => {
      const box = ui.map.getBoundingClientRect();
      this.#select(this.#painter.hit(event.clientX - box.left, event.clientY - box.top));
    });
    ui.map.addEventListener("mousemove", (event) => {
      const box = ui.map.getBoundingClientRect();
      const heap = this.#session?.runtime.pymallocHeap ?? null;
      const tip = heap === null ? "" : hitSummary(heap, this.#painter.hit(event.clientX - box.left, event.clientY - box.top));
      if (ui.map.title !== tip) ui.map.title = tip;
    });
    ui.plot.addEventListener("click", (event) => {
      const session = this.#session;
      if (session === null) return;
      this.#seek(this.#plot.eventAt(event.clientX - ui.plot.getBoundingClientRect().left, session.length));
    });
    ui.pickNext.addEventListener("click", () => this.#pickNextRelease());
    ui.blockId.addEventListener("input", () => this.#touch());
    ui.inject.addEventListener("click", () => this.#inject());
    ui.freeNow.addEventListener("click", () => this.#freeNow());
    this.#doc.addEventListener("keydown", (event) => {
      if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
      if (event.key === " ") this.#togglePlay();
      else if (event.key === "ArrowRight") this.#stepForward();
      else if (event.key === "ArrowLeft") ui.stepBack.click();
      else if (event.key === "Home") this.#seek(0);
      else if (event.key === "End") ui.toEnd.click();
      else return;
      // (also keeps a focused button from pressing itself on the same space)
      event.preventDefault();
    });
    // the map fills its panel: drawn again when the panel's width changes (a window resized, the
    // layout's columns changing, a scroll bar coming or going) and when devicePixelRatio does
    // (zoom, another screen), which need not change any width in CSS pixels
    new ResizeObserver(() => this.#touch()).observe(ui.mapScroll);
    this.#watchPixelRatio();
  }

  /** Draws again when devicePixelRatio changes, then watches for the next change. */
  #watchPixelRatio(): void {
    const query = matchMedia(`(resolution: ${globalThis.devicePixelRatio || 1}dppx)`);
    query.addEventListener(
      "change",
      () => {
        this.#touch();
        this.#watchPixelRatio();
      },
      { once: true },
    );
  }

  // --- loading ------------------------------------------------------------------------------

  /** Loads bundled trace `name` and opens it at `?event=at` (null: the peak). */
  async #loadBundled(name: string, at: string | null): Promise<void> {
    const entry = bundledTrace(name);
    if (entry === undefined) return;
    const loaded = await this.#load(() => traceFromUrl(entry.url, `${entry.name}.trace.gz`, (read, total) => this.#setStatus(`loading ${entry.name}: ${bytes(read)} of ${bytes(total)}`)), entry.name, at);
    if (!loaded) return;
    this.#bundledName = entry.name;
    this.#ui.traceSelect.querySelector("option[data-file]")?.remove();
    this.#ui.traceSelect.value = entry.name;
  }

  async #loadFile(file: File): Promise<void> {
    const loaded = await this.#load(() => traceFromBlob(file, file.name, (read, total) => this.#setStatus(`reading ${file.name}: ${bytes(read)} of ${bytes(total)}`)), file.name, "0");
    if (!loaded) return;
    // the trace menu names the file while it is the one shown (a file has no address to put in the URL)
    this.#bundledName = null;
    const select = this.#ui.traceSelect;
    select.querySelector("option[data-file]")?.remove();
    const option = new Option(`your file: ${file.name}`, "");
    option.dataset["file"] = "true";
    select.add(option, 0);
    select.value = "";
  }

  /**
   * Reads a trace and makes it the session's, at `?event=at` (null for the live-bytes peak).
   * @returns false when it failed (the notice line says why; the old trace stays) or a newer load began
   */
  async #load(read: () => Promise<Trace>, label: string, at: string | null): Promise<boolean> {
    const serial = ++this.#loads;
    this.#loading = true;
    this.#playing = false;
    this.#goal = null;
    this.#busy();
    this.#setStatus(`loading ${label}…`);
    let trace: Trace;
    try {
      trace = await read();
    } catch (error) {
      if (serial !== this.#loads) return false;
      this.#loading = false;
      this.#notify([...this.#addressNotices, error instanceof Error ? error.message : String(error)]);
      // the status line goes back to the trace still shown
      this.#setStatus(this.#session === null ? "" : statusLine(this.#session.trace, this.#session.series));
      this.#busy();
      return false;
    }
    if (serial !== this.#loads) return false;
    this.#loading = false;
    const config = this.#ui.configSelect.value as AllocatorConfig;
    const session = new ReplaySession(trace, config);
    this.#useSession(session);
    this.#ui.scrub.max = String(trace.length);
    this.#ui.blockId.value = "";
    const target = eventTarget(at, trace.length, session.series.peakEvent);
    this.#notify([...this.#addressNotices, target.notice]);
    this.#addressNotices = [];
    this.#setStatus(statusLine(trace, session.series));
    this.#seek(target.event);
    return true;
  }

  #switchConfig(value: string): void {
    const old = this.#session;
    if (old === null || !isAllocatorConfig(value)) return;
    this.#playing = false;
    const cursor = this.#goal ?? old.cursor;
    this.#useSession(new ReplaySession(old.trace, value, old.series));
    this.#seek(cursor);
  }

  /** Replaces the session: everything drawn from the old one is redrawn from the new one. */
  #useSession(session: ReplaySession): void {
    this.#session = session;
    this.#selection = { pool: 0, arenaObject: 0 };
    this.#uiDirty = true;
  }

  // --- moving -------------------------------------------------------------------------------

  #seek(events: number): void {
    const session = this.#session;
    if (session === null) return;
    this.#goal = Math.max(0, Math.min(session.length, Math.round(events)));
    this.#schedule();
  }

  #stepForward(): void {
    this.#playing = false;
    const session = this.#session;
    if (session === null || this.#goal !== null) return;
    session.advance(1);
    this.#schedule();
  }

  #togglePlay(): void {
    const session = this.#session;
    if (session === null) return;
    if (!this.#playing && (session.atEnd || session.fault !== null)) return;
    this.#playing = !this.#playing;
    this.#touch();
  }

  #schedule(): void {
    if (this.#frame === 0) this.#frame = requestAnimationFrame(() => this.#onFrame());
    this.#busy();
  }

  #touch(): void {
    this.#uiDirty = true;
    this.#schedule();
  }

  #onFrame(): void {
    this.#frame = 0;
    const session = this.#session;
    if (session !== null) {
      const deadline = performance.now() + WORK_BUDGET_MS;
      if (this.#goal !== null) {
        while (!session.seek(this.#goal, CHUNK_EVENTS) && performance.now() < deadline);
        if (session.cursor === this.#goal || session.fault !== null) this.#goal = null;
      } else if (this.#playing) {
        let left = Number(this.#ui.speed.value);
        while (left > 0 && session.fault === null && !session.atEnd) {
          left -= session.advance(Math.min(left, CHUNK_EVENTS));
          if (performance.now() >= deadline) break;
        }
        if (session.atEnd || session.fault !== null) this.#playing = false;
      }
      if (session.version !== this.#drawnVersion || this.#uiDirty) this.#draw(session);
    }
    if (this.#goal !== null || this.#playing) this.#schedule();
    this.#busy();
  }

  /** `data-busy` on the body: "true" while loading, seeking or playing (tests wait for "false"). */
  #busy(): void {
    const busy = this.#loading || this.#goal !== null || this.#playing || this.#frame !== 0;
    this.#doc.body.dataset["busy"] = String(busy);
  }

  // --- drawing ------------------------------------------------------------------------------

  #draw(session: ReplaySession): void {
    const started = performance.now();
    const ui = this.#ui;
    this.#drawnVersion = session.version;
    this.#uiDirty = false;
    const runtime = session.runtime;
    const heap = runtime.pymallocHeap;
    const cursor = session.cursor;

    // (the live-bytes curve moves when the replay meets a NULL return, and the peak with it)
    if (!this.#loading) setText(ui.status, statusLine(session.trace, session.series));
    ui.play.textContent = this.#playing ? "⏸ pause" : "▶ play";
    ui.scrub.value = String(this.#goal ?? cursor);
    ui.position.textContent = `${count(cursor)} of ${counted(session.length, "event")}`;
    ui.lastEvent.textContent = cursor === 0 ? "(none)" : `event ${count(cursor)}  ${describeEvent(session.trace, cursor)}${this.#resultOf(session, cursor)}`;
    ui.nextEvent.textContent = session.atEnd ? "(end of the trace)" : `event ${count(cursor + 1)}  ${describeEvent(session.trace, cursor + 1)}`;

    const stats = heap === null ? null : heap.stats();
    ui.arenaCount.textContent = stats === null ? "–" : String(stats.arenasAllocatedCurrent);
    ui.poolCount.textContent = stats === null ? "–" : count(stats.classes.reduce((sum, c) => sum + c.pools, 0));
    ui.liveBytes.textContent = bytes(session.series.liveBytes[cursor]!);
    ui.footprint.textContent = bytes(session.footprint());
    ui.failures.textContent = count(session.failures);
    setText(ui.pymallocStats, stats === null ? pymallocStatsText(runtime) : formatStats(stats));
    setText(ui.mallocStats, mallocStatsText(runtime));

    if (heap === null) {
      ui.map.hidden = true;
      ui.mapNote.hidden = false;
      ui.mapNote.textContent = `The ${session.config} configuration has no pymalloc: every domain is served by the system malloc, so there are no arenas or pools to draw. Its figures are under Statistics.`;
      ui.legend.replaceChildren();
      ui.mapSummary.textContent = "no pymalloc";
    } else {
      ui.map.hidden = false;
      ui.mapNote.hidden = true;
      const rows = arenaRows(heap);
      this.#painter.draw(heap, rows, this.#selection, ui.mapScroll.clientWidth);
      setText(ui.mapSummary, describeRows(rows));
      this.#drawLegend(heap, stats!.classes);
    }
    this.#drawDetails(heap);
    this.#plot.draw(session.series, cursor);
    this.#drawDebugPanel(session);
    this.#writeUrl(session);
    // how long reading the heaps and drawing took (the benchmark reads it; see bench/frames.ts)
    this.#doc.body.dataset["drawMs"] = (performance.now() - started).toFixed(2);
  }

  /** " = 0x…" for event `event` (from 1) when its block is still live, for the "last" line. */
  #resultOf(session: ReplaySession, event: number): string {
    const trace = session.trace;
    if (trace.op[event - 1] === OP_FREE) return "";
    const address = session.addressOf(trace.id[event - 1]!);
    return address === 0 ? "" : ` = ${hex(address)}`;
  }

  #drawLegend(heap: Pymalloc, classes: readonly { readonly index: number; readonly size: number; readonly pools: number }[]): void {
    const palette = this.#painter.palette(heap);
    const items = classes.map((c) => {
      const item = this.#doc.createElement("span");
      const swatch = this.#doc.createElement("i");
      swatch.style.background = palette[c.index]!.strong;
      item.append(swatch, `${c.size} B ×${c.pools}`);
      item.title = `size class ${c.index}: ${c.size}-byte blocks, ${c.pools} pools in use`;
      return item;
    });
    this.#ui.legend.replaceChildren(...items);
  }

  #select(hit: MapHit): void {
    this.#selection = hit.kind === "pool" ? { pool: hit.pool, arenaObject: hit.arenaObject } : hit.kind === "arena" ? { pool: 0, arenaObject: hit.arenaObject } : { pool: 0, arenaObject: 0 };
    this.#touch();
  }

  #drawDetails(heap: Pymalloc | null): void {
    const doc = this.#doc;
    const panel = this.#ui.details;
    const title = doc.createElement("h2");
    const { pool, arenaObject } = this.#selection;
    if (heap === null || arenaObject === 0) {
      title.textContent = "Details";
      const hint = doc.createElement("p");
      hint.className = "hint";
      hint.textContent = heap === null ? "No pymalloc in this configuration." : "Click a pool to see its header and free list, or an arena's label to see its arena object.";
      panel.replaceChildren(title, hint);
      return;
    }
    const arena = inspectArenaObject(heap, arenaObject);
    if (pool !== 0 && !(arena.address !== 0 && pool >= poolAddress(heap, arena, 0) && isCarved(arena, pool))) {
      title.textContent = `pool ${hex(pool)}: gone`;
      const note = doc.createElement("p");
      note.textContent = arena.address === 0 ? "Its arena was given back to the memory (all its pools were empty)." : "The pool is not carved at this point of the replay.";
      panel.replaceChildren(title, note);
      return;
    }
    if (pool === 0) {
      const details = arenaDetails(heap, arenaObject);
      title.textContent = details.title;
      panel.replaceChildren(title, fieldsTable(doc, details.rows));
      return;
    }
    const details = poolDetails(heap, pool);
    title.textContent = details.title;
    const list = doc.createElement("p");
    list.className = "free-list";
    list.dataset["testid"] = "free-list";
    const shown = details.freeList.slice(0, FREE_LIST_SHOWN).map(hex).join(" ");
    const more = details.freeList.length > FREE_LIST_SHOWN ? ` … and ${count(details.freeList.length - FREE_LIST_SHOWN)} more` : "";
    list.textContent = `free list (${counted(details.freeList.length, "block")}${details.uncarvedBlocks > 0 ? `, and ${count(details.uncarvedBlocks)} never handed out past nextoffset` : ""}): ${details.freeList.length === 0 ? "empty" : shown + more}`;
    panel.replaceChildren(title, fieldsTable(doc, details.rows), list);
  }

  // --- the debug hooks ------------------------------------------------------------------------

  #pickNextRelease(): void {
    const session = this.#session;
    if (session === null) return;
    const next = session.nextRelease();
    if (next === null) this.#debugMessage("No live block is freed or reallocated from here to the end of the trace; type a block id.", true);
    else this.#ui.blockId.value = String(next.id);
    this.#touch();
  }

  #inject(): void {
    const session = this.#session;
    if (session === null) return;
    this.#playing = false;
    try {
      const injection = session.injectOverflow(Number(this.#ui.blockId.value === "" ? Number.NaN : this.#ui.blockId.value), Number(this.#ui.overflowBytes.value));
      const next = session.nextRelease();
      const when = next !== null && next.id === injection.id ? `the trace frees it at event ${count(next.event)}: play on, or free it now` : "free it now, or play on until the trace frees it";
      this.#debugMessage(`Wrote ${counted(injection.bytes, "byte")} of 'x' at ${hex(injection.address + injection.size)}, just past the ${count(injection.size)} bytes of block #${injection.id} at ${hex(injection.address)}: ${when}.`, false);
    } catch (error) {
      this.#debugMessage(error instanceof Error ? error.message : String(error), true);
    }
    this.#touch();
  }

  #freeNow(): void {
    const session = this.#session;
    if (session === null) return;
    try {
      session.freeInjectedNow();
    } catch (error) {
      this.#debugMessage(error instanceof Error ? error.message : String(error), true);
    }
    this.#touch();
  }

  #debugMessage(text: string, error: boolean): void {
    this.#ui.debugMessage.textContent = text;
    this.#ui.debugMessage.classList.toggle("error", error);
  }

  #drawDebugPanel(session: ReplaySession): void {
    const ui = this.#ui;
    ui.debugOff.hidden = session.debugHooks;
    ui.debugOn.hidden = !session.debugHooks;
    const id = ui.blockId.value === "" ? Number.NaN : Number(ui.blockId.value);
    const address = session.addressOf(id);
    ui.blockInfo.textContent = Number.isNaN(id)
      ? "Choose a live block: type its id, or take the next one the trace frees."
      : address === 0
        ? `#${ui.blockId.value} is not a live block after event ${count(session.cursor)}.`
        : `block #${id}: ${count(session.requestedSize(id))} bytes at ${hex(address)}`;
    ui.inject.disabled = session.injection !== null || session.fault !== null || address === 0;
    ui.freeNow.disabled = session.injection === null || session.fault !== null;
    if (session.injection === null && session.fault === null && ui.debugMessage.textContent !== "" && !ui.debugMessage.classList.contains("error")) this.#debugMessage("", false);
    const fault = session.fault;
    ui.fault.hidden = fault === null;
    ui.report.hidden = fault === null;
    if (fault !== null) {
      const error = fault.error as { name?: string; code?: string } | null;
      ui.fault.textContent = `The replay stopped at event ${count(fault.event)} (${fault.during}): ${error?.name ?? "error"} ${error?.code ?? ""}. Step back or scrub to go on.`;
      setText(ui.report, fault.report);
    }
  }

  #writeUrl(session: ReplaySession): void {
    if (this.#bundledName === null || this.#goal !== null || this.#playing) return;
    const params = new URLSearchParams({ trace: this.#bundledName, config: session.config, event: String(session.cursor) });
    const url = `${this.#location.pathname}?${params}`;
    if (`${this.#location.pathname}${this.#location.search}` !== url) history.replaceState(null, "", url);
  }

  #setStatus(text: string): void {
    this.#ui.status.textContent = text;
  }

  /** The notice line: what the page could not do as asked, and what it did instead; hidden when there is nothing to say. */
  #notify(notices: readonly string[]): void {
    const text = notices.filter((notice) => notice !== "").join("; ");
    setText(this.#ui.notice, text);
    this.#ui.notice.hidden = text === "";
  }
}

/** The map's tooltip for what is under the pointer: `pool 0x… · 96-byte blocks · 54 of 170 in use`. */
function hitSummary(heap: Pymalloc, hit: MapHit): string {
  if (hit.kind === "none") return "";
  const arena = inspectArenaObject(heap, hit.arenaObject);
  if (hit.kind === "arena") return `arena object #${arena.index}: ${arena.address === 0 ? "released" : `${arena.nfreepools} of ${arena.ntotalpools} pools free`} (click for its fields)`;
  const header = inspectPool(heap, hit.pool);
  if (header.count === 0) return `pool ${hex(hit.pool)} · empty (click for its header)`;
  return `pool ${hex(hit.pool)} · ${classSize(heap.layout, header.szidx)}-byte blocks · ${count(header.count)} of ${count(blocksPerPool(heap.layout, header.szidx))} in use (click for its header and free list)`;
}

function setText(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

function fieldsTable(doc: Document, rows: readonly DetailRow[]): HTMLTableElement {
  const table = doc.createElement("table");
  table.className = "fields";
  for (const row of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = row.field;
    tr.insertCell().textContent = row.value;
    tr.insertCell().textContent = row.note;
  }
  return table;
}
