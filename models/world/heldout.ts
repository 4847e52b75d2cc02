// The held-out split of the synthetic world: a fixed sixth of the colour × shape × background triples never
// appears in the default model's training data, and every evaluation prompt asks for at least one of them. So the
// evaluation set is disjoint from the training captions by construction, not by luck of the seeds.

import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES, type BackgroundName, type ColorName, type ShapeName } from './palette.ts';

export interface Thing {
  color: ColorName;
  shape: ShapeName;
}

/** One background per colour × shape pair is held out (24 of the 144 triples), spread so each colour, shape and
 * background is still seen in training with most partners. */
export function isHeldOut(color: ColorName, shape: ShapeName, background: BackgroundName): boolean {
  const c = COLOR_NAMES.indexOf(color);
  const s = SHAPES.indexOf(shape);
  const b = BACKGROUND_NAMES.indexOf(background);
  return (c + 2 * s + b) % BACKGROUND_NAMES.length === 0;
}

/** The background held out for a colour × shape pair. */
export function heldOutBackground(color: ColorName, shape: ShapeName): BackgroundName {
  const found = BACKGROUND_NAMES.find((b) => isHeldOut(color, shape, b));
  if (!found) throw new Error(`heldOutBackground: no held-out background for ${color} ${shape}`);
  return found;
}

export function anyHeldOut(things: readonly Thing[], background: BackgroundName): boolean {
  return things.some((t) => isHeldOut(t.color, t.shape, background));
}

export interface ParsedCaption {
  things: Thing[];
  background: BackgroundName;
}

const THING = new RegExp(`\\b(${COLOR_NAMES.join('|')}) (${SHAPES.join('|')})\\b`, 'g');
const GROUND = new RegExp(`on a (${BACKGROUND_NAMES.join('|')}) background`);

/** Reads the entities and background out of a world caption ("a red circle left of a blue square on a pink
 * background"); undefined when the text is not a world caption. */
export function parseCaption(text: string): ParsedCaption | undefined {
  const ground = GROUND.exec(text);
  if (!ground) return undefined;
  const things = [...text.matchAll(THING)].map((m) => ({ color: m[1] as ColorName, shape: m[2] as ShapeName }));
  if (things.length === 0) return undefined;
  return { things, background: ground[1] as BackgroundName };
}

const RECOLOUR = new RegExp(`^make the (?:(${COLOR_NAMES.join('|')}) )?(${SHAPES.join('|')}) (${COLOR_NAMES.join('|')})$`);
const REGROUND = new RegExp(`^make the background (${BACKGROUND_NAMES.join('|')})$`);

/** The scene an edit instruction produces from a parsed caption; undefined when the instruction is not understood. */
export function applyInstruction(before: ParsedCaption, instruction: string): ParsedCaption | undefined {
  const ground = REGROUND.exec(instruction);
  if (ground) return { things: before.things, background: ground[1] as BackgroundName };
  const m = RECOLOUR.exec(instruction);
  if (!m) return undefined;
  const [, oldColor, shape, newColor] = m;
  const i = before.things.findIndex((t) => t.shape === shape && (!oldColor || t.color === oldColor));
  if (i < 0) return undefined;
  const things = before.things.map((t, j) => (j === i ? { ...t, color: newColor as ColorName } : t));
  return { things, background: before.background };
}

/**
 * The caption of the picture an edit instruction makes of a captioned one, relation and order kept ("a red circle
 * left of a blue square on a pink background" + "make the circle green" → "a green circle left of …"); undefined
 * when the instruction is not a world edit or names no entity of the caption.
 */
export function editedCaption(caption: string, instruction: string): string | undefined {
  const ground = REGROUND.exec(instruction);
  if (ground) return GROUND.test(caption) ? caption.replace(GROUND, `on a ${ground[1]} background`) : undefined;
  const recolour = RECOLOUR.exec(instruction);
  if (!recolour) return undefined;
  const [, from, shape, to] = recolour;
  const entity = new RegExp(`\\b(?:${from ?? COLOR_NAMES.join('|')}) ${shape}\\b`);
  return entity.test(caption) ? caption.replace(entity, `${to} ${shape}`) : undefined;
}

const PAIR = new RegExp(`^a (${COLOR_NAMES.join('|')}) (${SHAPES.join('|')}) (left of|right of|above|below) a (${COLOR_NAMES.join('|')}) (${SHAPES.join('|')}) (on a .* background)$`);
const MIRROR: Record<string, string> = { 'right of': 'left of', below: 'above' };

/**
 * A two-entity caption in reading order — the left or upper entity first ("a blue square right of a red circle …" →
 * "a red circle left of a blue square …"); other captions unchanged. A picture shows which entity is left, not which
 * one its caption happened to name first, so a target read off the picture must not depend on that choice.
 */
export function readingOrder(caption: string): string {
  const m = PAIR.exec(caption);
  if (!m) return caption;
  const [, c1, s1, relation, c2, s2, ground] = m;
  const mirrored = MIRROR[relation!];
  return mirrored ? `a ${c2} ${s2} ${mirrored} a ${c1} ${s1} ${ground}` : caption;
}
