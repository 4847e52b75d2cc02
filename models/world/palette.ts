// The synthetic world's vocabulary: a handful of shapes and colours that are far apart in RGB, so that an image
// can be read back by pixel analysis alone (evaluate.ts) with no learned model.

export const SHAPES = ['circle', 'square', 'triangle', 'star'] as const;
export type ShapeName = (typeof SHAPES)[number];

export const COLORS = {
  red: [220, 40, 40],
  green: [40, 180, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
  purple: [150, 60, 190],
  orange: [245, 140, 30],
} as const satisfies Record<string, readonly [number, number, number]>;
export type ColorName = keyof typeof COLORS;
export const COLOR_NAMES = Object.keys(COLORS) as ColorName[];

/** Backgrounds are pale, so a shape never shares a colour with the ground it stands on. */
export const BACKGROUNDS = {
  white: [250, 250, 250],
  gray: [200, 200, 200],
  pink: [250, 215, 225],
  mint: [210, 245, 225],
  sky: [205, 225, 250],
  cream: [250, 240, 205],
} as const satisfies Record<string, readonly [number, number, number]>;
export type BackgroundName = keyof typeof BACKGROUNDS;
export const BACKGROUND_NAMES = Object.keys(BACKGROUNDS) as BackgroundName[];

export type Rgb = readonly [number, number, number];

export function nearestColor(rgb: Rgb): { name: ColorName; distance: number } {
  let best: ColorName = 'red';
  let bestD = Infinity;
  for (const name of COLOR_NAMES) {
    const c = COLORS[name];
    const d = Math.hypot(rgb[0] - c[0], rgb[1] - c[1], rgb[2] - c[2]);
    if (d < bestD) {
      bestD = d;
      best = name;
    }
  }
  return { name: best, distance: bestD };
}
