// Moving nodes apart as the editor draws them: the pure part of scripts/tidy-layouts.ts. Boxes are
// [x, y, width, height] in graph coordinates; a node's box includes its title bar.

export type Box = [number, number, number, number];
export interface NodeBox {
  id: string;
  box: Box;
}
export interface GroupBox {
  title: string;
  bounding: Box;
}

const GAP = 20;
/** Room a group keeps for its title bar above its first node (litegraph draws about 34 px). */
export const GROUP_TITLE = 40;
const GROUP_PAD = 12;

function hit(a: Box, b: Box, gap = 0): boolean {
  return a[0] < b[0] + b[2] + gap && b[0] < a[0] + a[2] + gap && a[1] < b[1] + b[3] + gap && b[1] < a[1] + a[3] + gap;
}

function inside(b: Box, g: Box): boolean {
  const cx = b[0] + b[2] / 2;
  const cy = b[1] + b[3] / 2;
  return cx >= g[0] && cx <= g[0] + g[2] && cy >= g[1] && cy <= g[1] + g[3];
}

/**
 * Pushes nodes down, top to bottom, until none overlaps another or sits on a group's title bar; a node keeps its
 * column (x) and order. Groups then grow to hold their nodes (a node belongs to the group its centre was in).
 */
export function tidy(nodes: NodeBox[], groups: GroupBox[]): { nodes: NodeBox[]; groups: GroupBox[] } {
  const member = new Map(nodes.map((n) => [n.id, groups.findIndex((g) => inside(n.box, g.bounding))]));
  const placed: NodeBox[] = [];
  const order = [...nodes].sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  for (const n of order) {
    const box: Box = [...n.box];
    const g = member.get(n.id)!;
    if (g >= 0) box[1] = Math.max(box[1], groups[g]!.bounding[1] + GROUP_TITLE);
    for (let moved = true; moved; ) {
      moved = false;
      for (const p of placed) {
        if (hit(box, p.box, GAP)) {
          box[1] = p.box[1] + p.box[3] + GAP;
          moved = true;
        }
      }
      for (const [i, grp] of groups.entries()) {
        const bar: Box = [grp.bounding[0], grp.bounding[1], grp.bounding[2], GROUP_TITLE];
        if (i !== g && hit(box, bar)) {
          box[1] = bar[1] + bar[3] + GAP;
          moved = true;
        }
      }
    }
    placed.push({ id: n.id, box });
  }
  const byId = new Map(placed.map((p) => [p.id, p]));
  const tidied = nodes.map((n) => byId.get(n.id)!);
  const grown = groups.map((grp, i) => {
    const mine = tidied.filter((n) => member.get(n.id) === i).map((n) => n.box);
    if (mine.length === 0) return grp;
    const [x, y, w, h] = grp.bounding;
    const right = Math.max(x + w, ...mine.map((b) => b[0] + b[2] + GROUP_PAD));
    const bottom = Math.max(y + h, ...mine.map((b) => b[1] + b[3] + GROUP_PAD));
    const left = Math.min(x, ...mine.map((b) => b[0] - GROUP_PAD));
    return { title: grp.title, bounding: [left, y, right - left, bottom - y] as Box };
  });
  return { nodes: tidied, groups: grown };
}
