/*
 * Size-class colours. Neighbouring classes get hues far apart (the golden angle), so that pools
 * of 16-byte and 32-byte blocks side by side are easy to tell apart; each class has a pale tint
 * (a pool's free part) and a strong shade (its used part).
 */

/** The golden angle, in degrees: consecutive classes land far apart on the colour wheel. */
const GOLDEN_ANGLE = 137.508;

/** The hue of size class `index`, 0..360. */
export function classHue(index: number): number {
  return (index * GOLDEN_ANGLE + 200) % 360;
}

/** CSS colours of one size class. */
export interface ClassColors {
  /** The used part of a pool. */
  readonly strong: string;
  /** The free part of a pool. */
  readonly pale: string;
}

/** The colours of classes 0..count-1, made once per heap layout (no strings per frame). */
export function classPalette(count: number): readonly ClassColors[] {
  const palette: ClassColors[] = [];
  for (let i = 0; i < count; i++) {
    const hue = classHue(i).toFixed(1);
    palette.push({ strong: `hsl(${hue} 70% 42%)`, pale: `hsl(${hue} 60% 88%)` });
  }
  return palette;
}
