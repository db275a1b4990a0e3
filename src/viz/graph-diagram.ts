// A model's graph as an SVG diagram, as Keras' plot_model draws it: one box per input and per layer
// application (its name, type and output shape), arrows for the tensors between them, drawn top to bottom.
// Boxes sit in rows by depth (the longest path from an input), so every arrow points down; within a row
// they keep the graph's order. An arrow that skips rows (a residual shortcut) runs in a lane to the right
// of the boxes it passes, so it never crosses them.

import { escapeXml, textWidth } from "./line-chart";

export interface DiagramNode {
  /** Shown in bold: the layer's (or input's) name. */
  title: string;
  /** Shown below: its type and output shape. */
  detail: string;
  /** Indices of the nodes whose outputs it reads (earlier in the list). */
  inputs: number[];
}

const FONT = 12;
const ROW_HEIGHT = 74;
const BOX_HEIGHT = 40;
const GAP = 24;
const MARGIN = 20;

export function graphDiagramSvg(nodes: DiagramNode[], title: string): string {
  const depth: number[] = [];
  nodes.forEach((n, i) => {
    depth[i] = n.inputs.length === 0 ? 0 : Math.max(...n.inputs.map((j) => depth[j])) + 1;
  });
  const rows: number[][] = [];
  nodes.forEach((_, i) => (rows[depth[i]] ??= []).push(i));
  const width = (i: number) => Math.max(textWidth(nodes[i].title, FONT), textWidth(nodes[i].detail, FONT - 1)) + 20;
  const rowWidth = (row: number[]) => row.reduce((s, i) => s + width(i), 0) + GAP * (row.length - 1);
  const canvas = Math.max(...rows.map(rowWidth), textWidth(title, FONT + 2)) + 2 * MARGIN;
  const box: { x: number; y: number; w: number }[] = [];
  rows.forEach((row, r) => {
    let x = (canvas - rowWidth(row)) / 2;
    for (const i of row) {
      box[i] = { x, y: MARGIN + 24 + r * ROW_HEIGHT, w: width(i) };
      x += width(i) + GAP;
    }
  });
  const height = MARGIN * 2 + 24 + rows.length * ROW_HEIGHT - (ROW_HEIGHT - BOX_HEIGHT);
  // Lanes for arrows that skip rows: right of every box in the rows they pass, one lane each.
  const lanes: number[] = [];
  const edges: { from: number; to: number; k: number; lane?: number }[] = [];
  nodes.forEach((n, i) => n.inputs.forEach((j, k) => {
    const edge: { from: number; to: number; k: number; lane?: number } = { from: j, to: i, k };
    if (depth[i] - depth[j] > 1) {
      let right = 0;
      for (let r = depth[j] + 1; r < depth[i]; r++) for (const b of rows[r] ?? []) right = Math.max(right, box[b].x + box[b].w);
      right = Math.max(right, box[j].x + box[j].w, box[i].x + box[i].w);
      const busy = lanes.filter((x) => x >= right).length;
      edge.lane = right + 14 + 10 * busy;
      lanes.push(edge.lane);
    }
    edges.push(edge);
  }));
  const full = Math.max(canvas, ...lanes.map((x) => x + MARGIN));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(full)}" height="${height}" viewBox="0 0 ${Math.ceil(full)} ${height}" font-family="sans-serif" font-size="${FONT}">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${canvas / 2}" y="${MARGIN + 6}" text-anchor="middle" font-size="${FONT + 2}" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (const { from: j, to: i, k, lane } of edges) {
    const from = box[j], to = box[i];
    if (lane !== undefined) {
      const y1 = from.y + BOX_HEIGHT / 2, y2 = to.y + BOX_HEIGHT / 2;
      parts.push(`<polyline points="${(from.x + from.w).toFixed(1)},${y1} ${lane.toFixed(1)},${y1} ${lane.toFixed(1)},${y2} ${(to.x + to.w).toFixed(1)},${y2}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>`);
      continue;
    }
    // Several inputs spread along the box's top edge, so their arrows stay apart.
    const tx = to.x + (to.w * (k + 1)) / (nodes[i].inputs.length + 1);
    parts.push(`<line x1="${(from.x + from.w / 2).toFixed(1)}" y1="${from.y + BOX_HEIGHT}" x2="${tx.toFixed(1)}" y2="${to.y}" stroke="#555" stroke-width="1.2" marker-end="url(#arrow)"/>`);
  }
  nodes.forEach((n, i) => {
    const { x, y, w } = box[i];
    const fill = n.inputs.length === 0 ? "#e8f0fa" : "#f7f7f7";
    parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BOX_HEIGHT}" rx="5" fill="${fill}" stroke="#4e79a7"/>`);
    parts.push(`<text x="${(x + w / 2).toFixed(1)}" y="${y + 16}" text-anchor="middle" font-weight="bold">${escapeXml(n.title)}</text>`);
    parts.push(`<text x="${(x + w / 2).toFixed(1)}" y="${y + 32}" text-anchor="middle" font-size="${FONT - 1}" fill="#444">${escapeXml(n.detail)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
