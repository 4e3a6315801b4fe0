/*
 * Draws the arena map on a canvas and answers "what is under this point" for clicks.
 *
 *   label column          one cell per pool, first pool on the left
 *   ┌───────────────────┬──┬──┬──┬──┬──┬──┬─ ─ ─┬──┐
 *   │ #3  58/64 free    │▓▓│▒▒│  │  │░░│░░│     │··│   ▓ full   ▒ used (filled from the
 *   └───────────────────┴──┴──┴──┴──┴──┴──┴─ ─ ─┴──┘     bottom as far as the pool is full)
 *                                                        ╱ empty  · never carved
 *
 * A cell's hue is its size class; a full pool is solid with a dark frame; a used pool is pale
 * with its used part in the strong shade; an empty pool is white with a slash; a pool not carved
 * yet is a faint grey. Released arenas are dashed outlines. The painter keeps only the geometry
 * of the last drawing (for hit tests), never the heap's contents.
 *
 * The map is as wide as the space it is given: the pools share what the label column leaves, each
 * cell at least MIN_CELL_WIDTH wide (below that the canvas is wider than its panel, which scrolls).
 * The canvas holds devicePixelRatio pixels per CSS pixel, so cells stay sharp on any screen.
 */
import { inspectPool, type PymallocHeapView } from "@tsmalloc/pymalloc";
import { type ArenaRow, isCarved, poolAddress, poolFullness, poolState, PoolState } from "./arena-map.ts";
import { type ClassColors, classPalette } from "./colors.ts";

/** Pixel geometry of the map (CSS pixels); a cell's width follows from the width drawn to ({@link mapGeometry}). */
export const LABEL_WIDTH = 150;
export const MIN_CELL_WIDTH = 3;
export const RIGHT_MARGIN = 8;
export const CELL_HEIGHT = 18;
export const CELL_GAP = 1;
export const ROW_HEIGHT = CELL_HEIGHT + 6;
export const HEADING_HEIGHT = 22;

const SECTION_TITLES: Readonly<Record<ArenaRow["section"], string>> = {
  full: "full arenas (off usable_arenas)",
  usable: "usable_arenas, head first (fewest free pools first)",
  released: "released arenas (given back; their objects are on unused_arena_objects)",
};

/** How wide the map and its cells are when drawn into `width` CSS pixels. */
export interface MapGeometry {
  /** The canvas's width: `width`, or more when the cells would be narrower than MIN_CELL_WIDTH. */
  readonly width: number;
  readonly cellWidth: number;
  /** From one cell's left edge to the next one's: cellWidth + CELL_GAP. */
  readonly pitch: number;
}

/**
 * The map's geometry for `columns` pools per arena in `width` CSS pixels: the label column, then
 * the widest whole-pixel cells that fit, then at least RIGHT_MARGIN.
 */
export function mapGeometry(width: number, columns: number): MapGeometry {
  const fitted = Math.floor((width - LABEL_WIDTH - RIGHT_MARGIN) / columns) - CELL_GAP;
  const cellWidth = Math.max(MIN_CELL_WIDTH, fitted);
  const pitch = cellWidth + CELL_GAP;
  return { width: Math.max(Math.floor(width), LABEL_WIDTH + columns * pitch + RIGHT_MARGIN), cellWidth, pitch };
}

/** What a point of the map shows. */
export type MapHit =
  | { readonly kind: "pool"; readonly arenaObject: number; readonly pool: number }
  | { readonly kind: "arena"; readonly arenaObject: number }
  | { readonly kind: "none" };

const NOTHING: MapHit = { kind: "none" };

/** What is selected, for the frame around it. */
export interface MapSelection {
  readonly pool: number;
  readonly arenaObject: number;
}

/** Draws the rows of {@link arenaRows} and hit-tests the last drawing. */
export class ArenaPainter {
  readonly canvas: HTMLCanvasElement;
  #palette: readonly ClassColors[] = [];
  #rows: readonly ArenaRow[] = [];
  #rowTops: number[] = [];
  #geometry: MapGeometry = mapGeometry(0, 1);
  #poolSize = 0;
  #firstPools: number[] = [];

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
  }

  /** The colours of the heap's size classes (the legend uses them too). */
  palette(heap: PymallocHeapView): readonly ClassColors[] {
    if (this.#palette.length !== heap.layout.numClasses) this.#palette = classPalette(heap.layout.numClasses);
    return this.#palette;
  }

  /** The geometry of the last drawing. */
  get geometry(): MapGeometry {
    return this.#geometry;
  }

  /** Draws `rows` of `heap` into `width` CSS pixels (the panel's), framing the selection. */
  draw(heap: PymallocHeapView, rows: readonly ArenaRow[], selection: MapSelection, width: number): void {
    const palette = this.palette(heap);
    const columns = heap.layout.maxPoolsInArena;
    const geometry = mapGeometry(width, columns);
    const { cellWidth, pitch } = geometry;
    this.#geometry = geometry;
    let height = 4;
    let section = "";
    this.#rowTops = [];
    for (const row of rows) {
      if (row.section !== section) {
        section = row.section;
        height += HEADING_HEIGHT;
      }
      this.#rowTops.push(height);
      height += ROW_HEIGHT;
    }
    height = Math.max(height + 4, 40);
    const ctx = this.#resize(geometry.width, height);
    ctx.clearRect(0, 0, geometry.width, height);
    ctx.textBaseline = "middle";
    this.#rows = rows;
    this.#poolSize = heap.layout.poolSize;
    this.#firstPools = [];
    if (rows.length === 0) {
      ctx.fillStyle = "#666";
      ctx.font = "13px system-ui, sans-serif";
      ctx.fillText("no arena yet: pymalloc maps its first arena on the first small request", 8, 20);
      return;
    }
    section = "";
    rows.forEach((row, i) => {
      const top = this.#rowTops[i]!;
      if (row.section !== section) {
        section = row.section;
        ctx.fillStyle = "#333";
        ctx.font = "bold 12px system-ui, sans-serif";
        ctx.fillText(SECTION_TITLES[row.section], 4, top - HEADING_HEIGHT / 2 + 2);
      }
      const arena = row.arena;
      const selected = selection.pool === 0 && selection.arenaObject === arena.object;
      ctx.fillStyle = selected ? "#000" : "#444";
      ctx.font = `${selected ? "bold " : ""}12px ui-monospace, monospace`;
      const label =
        row.section === "released"
          ? `#${arena.index}  released`
          : `#${arena.index}${row.position >= 0 ? ` [${row.position}]` : ""}  ${arena.nfreepools}/${arena.ntotalpools} free`;
      ctx.fillText(label, 4, top + CELL_HEIGHT / 2);
      if (row.section === "released") {
        this.#firstPools.push(0);
        ctx.setLineDash([4, 3]);
        ctx.strokeStyle = "#999";
        ctx.strokeRect(LABEL_WIDTH + 0.5, top + 0.5, columns * pitch - CELL_GAP, CELL_HEIGHT);
        ctx.setLineDash([]);
        return;
      }
      const first = poolAddress(heap, arena, 0);
      this.#firstPools.push(first);
      for (let column = 0; column < arena.ntotalpools; column++) {
        const pool = first + column * heap.layout.poolSize;
        const x = LABEL_WIDTH + column * pitch;
        if (!isCarved(arena, pool)) {
          ctx.fillStyle = "#eee";
          ctx.fillRect(x, top, cellWidth, CELL_HEIGHT);
        } else {
          this.#drawPool(ctx, heap, palette, pool, x, top, cellWidth);
        }
        if (selection.pool === pool) {
          ctx.strokeStyle = "#000";
          ctx.lineWidth = 2;
          ctx.strokeRect(x - 1, top - 1, cellWidth + 2, CELL_HEIGHT + 2);
          ctx.lineWidth = 1;
        }
      }
      if (selected) {
        ctx.strokeStyle = "#000";
        ctx.strokeRect(1.5, top - 2.5, LABEL_WIDTH + columns * pitch + RIGHT_MARGIN / 2 - 3, CELL_HEIGHT + 5);
      }
    });
  }

  #drawPool(ctx: CanvasRenderingContext2D, heap: PymallocHeapView, palette: readonly ClassColors[], pool: number, x: number, top: number, cellWidth: number): void {
    const header = inspectPool(heap, pool);
    const state = poolState(heap, header);
    if (state === PoolState.Empty) {
      ctx.fillStyle = "#fff";
      ctx.fillRect(x, top, cellWidth, CELL_HEIGHT);
      ctx.strokeStyle = "#aaa";
      ctx.strokeRect(x + 0.5, top + 0.5, cellWidth - 1, CELL_HEIGHT - 1);
      ctx.beginPath();
      ctx.moveTo(x + 1, top + CELL_HEIGHT - 1);
      ctx.lineTo(x + cellWidth - 1, top + 1);
      ctx.stroke();
      return;
    }
    const colors = palette[header.szidx] ?? palette[0]!;
    if (state === PoolState.Full) {
      ctx.fillStyle = colors.strong;
      ctx.fillRect(x, top, cellWidth, CELL_HEIGHT);
      ctx.strokeStyle = "#111";
      ctx.strokeRect(x + 0.5, top + 0.5, cellWidth - 1, CELL_HEIGHT - 1);
      return;
    }
    const used = Math.max(1, Math.round(poolFullness(heap, header) * CELL_HEIGHT));
    ctx.fillStyle = colors.pale;
    ctx.fillRect(x, top, cellWidth, CELL_HEIGHT - used);
    ctx.fillStyle = colors.strong;
    ctx.fillRect(x, top + CELL_HEIGHT - used, cellWidth, used);
  }

  /** What the last drawing shows at canvas point (x, y), in CSS pixels. */
  hit(x: number, y: number): MapHit {
    for (let i = 0; i < this.#rows.length; i++) {
      const top = this.#rowTops[i]!;
      if (y < top - 2 || y >= top + CELL_HEIGHT + 3) continue;
      const arena = this.#rows[i]!.arena;
      if (x < LABEL_WIDTH || arena.address === 0) return { kind: "arena", arenaObject: arena.object };
      const column = Math.floor((x - LABEL_WIDTH) / this.#geometry.pitch);
      if (column >= arena.ntotalpools) return { kind: "arena", arenaObject: arena.object };
      const pool = this.#firstPools[i]! + column * this.#poolSize;
      return isCarved(arena, pool) ? { kind: "pool", arenaObject: arena.object, pool } : { kind: "arena", arenaObject: arena.object };
    }
    return NOTHING;
  }

  /** Sizes the canvas to `width` × `height` CSS pixels, devicePixelRatio canvas pixels to each. */
  #resize(width: number, height: number): CanvasRenderingContext2D {
    const ratio = globalThis.devicePixelRatio || 1;
    const canvas = this.canvas;
    // (setting width or height clears the canvas, which is drawn again right after anyway)
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    if (canvas.style.width !== `${width}px`) canvas.style.width = `${width}px`;
    if (canvas.style.height !== `${height}px`) canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d")!;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return ctx;
  }
}
