/* Size-class colours (src/colors.ts): golden-angle hues, exact CSS strings. */
import { describe, expect, it } from "vitest";
import { classHue, classPalette } from "../src/colors.ts";

describe("classHue", () => {
  it("steps by the golden angle from 200 degrees, modulo 360", () => {
    expect(classHue(0)).toBe(200);
    expect(classHue(1)).toBeCloseTo(337.508, 9);
    expect(classHue(2)).toBeCloseTo(115.016, 9);
    expect(classHue(3)).toBeCloseTo(252.524, 9);
    expect(classHue(63)).toBeCloseTo((63 * 137.508 + 200) % 360, 9);
  });

  it("stays in [0, 360) and keeps neighbouring classes far apart", () => {
    for (let i = 0; i < 64; i++) {
      const hue = classHue(i);
      expect(hue).toBeGreaterThanOrEqual(0);
      expect(hue).toBeLessThan(360);
      if (i > 0) {
        const d = Math.abs(hue - classHue(i - 1));
        expect(Math.min(d, 360 - d)).toBeGreaterThan(100);
      }
    }
  });
});

describe("classPalette", () => {
  it("one strong and one pale colour per class", () => {
    expect(classPalette(0)).toEqual([]);
    expect(classPalette(4)).toEqual([
      { strong: "hsl(200.0 70% 42%)", pale: "hsl(200.0 60% 88%)" },
      { strong: "hsl(337.5 70% 42%)", pale: "hsl(337.5 60% 88%)" },
      { strong: "hsl(115.0 70% 42%)", pale: "hsl(115.0 60% 88%)" },
      { strong: "hsl(252.5 70% 42%)", pale: "hsl(252.5 60% 88%)" },
    ]);
  });

  it("64 classes (pymalloc's align8 layout) get 64 different colours", () => {
    const palette = classPalette(64);
    expect(palette).toHaveLength(64);
    expect(new Set(palette.map((c) => c.strong)).size).toBe(64);
    expect(new Set(palette.map((c) => c.pale)).size).toBe(64);
  });
});
