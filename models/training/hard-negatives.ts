// Hard negative captions for contrastive training (NegCLIP, Yuksekgonul et al. 2023): a caption with one word swapped
// for another of the same kind ("a red circle …" → "a red square …"). In a batch of random captions the other
// captions seldom differ from the right one only in such a word, so plain CLIP learns what tells most captions apart
// (on the project's world: colours and backgrounds) and little else; a negative that differs only in the shape word
// makes the shape word matter.

import { Rng } from '../ops/random.ts';
import { TrainError } from './errors.ts';

/** "circle,square,triangle;red,blue" → [["circle", …], ["red", "blue"]]: groups of interchangeable words. */
export function parseSwapGroups(text: string, where: string): string[][] {
  const groups = text
    .split(';')
    .map((g) => g.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w.length > 0))
    .filter((g) => g.length > 0);
  const seen = new Set<string>();
  for (const g of groups) {
    if (g.length < 2) throw new TrainError('TRAIN_CONFIG', `${where}: the group "${g.join(',')}" needs at least two words to swap between`);
    for (const w of g) {
      if (!/^[\p{L}\p{N}'-]+$/u.test(w)) throw new TrainError('TRAIN_CONFIG', `${where}: "${w}" is not a single word`);
      if (seen.has(w)) throw new TrainError('TRAIN_CONFIG', `${where}: "${w}" is in two groups`);
      seen.add(w);
    }
  }
  return groups;
}

/**
 * One negative per caption that holds a word of some group: one such occurrence (drawn with `rng`) replaced by
 * another word of its group (drawn too). Captions without any group word give none. Returns the negatives and the
 * index of the caption each came from.
 */
export function swapNegatives(captions: readonly string[], groups: readonly string[][], rng: Rng): { captions: string[]; from: number[] } {
  const groupOf = new Map<string, readonly string[]>();
  for (const g of groups) for (const w of g) groupOf.set(w, g);
  const out: string[] = [];
  const from: number[] = [];
  captions.forEach((caption, i) => {
    const words = caption.split(/(\s+)/);
    const slots = words.flatMap((w, k) => (groupOf.has(w.toLowerCase()) ? [k] : []));
    if (slots.length === 0) return;
    const k = slots[Math.floor(rng.uniform() * slots.length)]!;
    const word = words[k]!.toLowerCase();
    const others = groupOf.get(word)!.filter((w) => w !== word);
    words[k] = others[Math.floor(rng.uniform() * others.length)]!;
    out.push(words.join(''));
    from.push(i);
  });
  return { captions: out, from };
}
