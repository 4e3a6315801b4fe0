/*
 * The plot beside the map: live bytes (what the program asked for and still holds) against the
 * heap's footprint (what the allocators mapped to serve it), over the trace's events.
 *
 *   bytes ▲        ___________ footprint (filled in as the replay first gets there)
 *         │   ____/  ___
 *         │  /  ____/   \___  live bytes (known from the events alone)
 *         │_/__/           \__
 *         └────────────┆───────▶ events
 *                    cursor
 */
import { formatBytes as bytes, formatCounted as counted } from "@tsmalloc/trace/browser";
import type { TraceSeries } from "./trace-series.ts";

/** Margins of the plot area inside the canvas (CSS pixels). */
const LEFT = 64;
const RIGHT = 10;
const TOP = 10;
const BOTTOM = 22;

export const LIVE_COLOR = "#1f77b4";
export const FOOTPRINT_COLOR = "#e6550d";

/** Draws a {@link TraceSeries} with the cursor at `cursor` events, and maps clicks to events. */
export class Plot {
  readonly canvas: HTMLCanvasElement;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
  }

  draw(series: TraceSeries, cursor: number): void {
    const width = this.canvas.clientWidth || 480;
    const height = this.canvas.clientHeight || 180;
    const ratio = globalThis.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
    }
    const ctx = this.canvas.getContext("2d")!;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const plotWidth = width - LEFT - RIGHT;
    const plotHeight = height - TOP - BOTTOM;
    const top = Math.max(series.peakLiveBytes, series.maxFootprint(), 1) * 1.05;
    const x = (events: number): number => LEFT + (series.length === 0 ? 0 : (events / series.length) * plotWidth);
    const y = (value: number): number => TOP + plotHeight - (value / top) * plotHeight;

    ctx.strokeStyle = "#ccc";
    ctx.fillStyle = "#555";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let i = 0; i <= 4; i++) {
      const value = (top / 4) * i;
      ctx.beginPath();
      ctx.moveTo(LEFT, Math.round(y(value)) + 0.5);
      ctx.lineTo(LEFT + plotWidth, Math.round(y(value)) + 0.5);
      ctx.stroke();
      ctx.fillText(bytes(value), 4, y(value));
    }
    ctx.textBaseline = "top";
    ctx.fillText("0", LEFT, TOP + plotHeight + 6);
    const end = counted(series.length, "event");
    ctx.fillText(end, LEFT + plotWidth - ctx.measureText(end).width, TOP + plotHeight + 6);

    ctx.lineWidth = 1.5;
    ctx.strokeStyle = LIVE_COLOR;
    ctx.beginPath();
    for (let k = 0; k <= series.samples; k++) {
      const event = series.eventOf(k);
      if (k === 0) ctx.moveTo(x(event), y(series.liveBytes[event]!));
      else ctx.lineTo(x(event), y(series.liveBytes[event]!));
    }
    ctx.stroke();

    ctx.strokeStyle = FOOTPRINT_COLOR;
    ctx.beginPath();
    let drawing = false;
    for (let k = 0; k <= series.samples; k++) {
      const value = series.footprint[k]!;
      if (Number.isNaN(value)) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(x(series.eventOf(k)), y(value));
      else ctx.moveTo(x(series.eventOf(k)), y(value));
      drawing = true;
    }
    ctx.stroke();
    ctx.lineWidth = 1;

    if (series.peakEvent > 0) {
      ctx.fillStyle = LIVE_COLOR;
      ctx.beginPath();
      ctx.arc(x(series.peakEvent), y(series.peakLiveBytes), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.strokeStyle = "#000";
    ctx.beginPath();
    ctx.moveTo(Math.round(x(cursor)) + 0.5, TOP);
    ctx.lineTo(Math.round(x(cursor)) + 0.5, TOP + plotHeight);
    ctx.stroke();
  }

  /** The event count at canvas x (CSS pixels), clamped to the trace. */
  eventAt(clientX: number, length: number): number {
    const width = this.canvas.clientWidth || 480;
    const fraction = (clientX - LEFT) / (width - LEFT - RIGHT);
    return Math.round(Math.min(1, Math.max(0, fraction)) * length);
  }
}
