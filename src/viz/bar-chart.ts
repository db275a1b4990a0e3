// Benchmark comparisons as a grouped horizontal bar chart (one group per workload, one bar per library),
// plain SVG like the line charts so it embeds anywhere.

import { PALETTE, coord, escapeXml, formatTick, niceTicks, textWidth } from "./line-chart";

export interface BarGroup {
  /** e.g. "MLP train b64" */
  label: string;
  /** e.g. { name: "wasmgrad", value: 1234 } */
  bars: { name: string; value: number }[];
}

const FONT = 'font-family="sans-serif"';
const BAR_HEIGHT = 16;
const BAR_GAP = 3;
const GROUP_GAP = 14;

/** A value label: three significant digits, no exponent for everyday magnitudes. */
function formatValue(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  const abs = Math.abs(v);
  if (abs >= 1e15 || (abs !== 0 && abs < 1e-4)) return v.toPrecision(3);
  if (abs >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

/** Grouped horizontal bar chart SVG; values shown as text next to bars; optional unit in the title. */
export function barChartSvg(groups: BarGroup[], options: { title: string; unit: string; width?: number }): string {
  const width = Math.max(240, options.width ?? 640);
  const title = options.unit ? `${options.title} (${options.unit})` : options.title;

  // One colour per bar name, in order of first appearance, so "wasmgrad" has the same colour in every group.
  const names: string[] = [];
  for (const g of groups) for (const b of g.bars) if (!names.includes(b.name)) names.push(b.name);
  const colourOf = (name: string) => PALETTE[names.indexOf(name) % PALETTE.length];

  // The axis always includes 0 so bar lengths compare; negative values extend left of it.
  let lo = 0;
  let hi = 0;
  for (const g of groups) {
    for (const b of g.bars) {
      if (!Number.isFinite(b.value)) continue;
      lo = Math.min(lo, b.value);
      hi = Math.max(hi, b.value);
    }
  }
  const axis = niceTicks(lo, hi, 5);
  const axisLo = axis.ticks[0];
  const axisHi = axis.ticks[axis.ticks.length - 1];

  const labelWidth = Math.min(width * 0.35, Math.max(40, ...groups.map((g) => textWidth(g.label, 12))) + 12);
  const valueRoom = Math.max(30, ...groups.flatMap((g) => g.bars.map((b) => textWidth(formatValue(b.value), 11)))) + 8;
  const legend = legendLayout(names, width - 32);
  const legendRows = names.length ? legend.lastRowIndex + 1 : 0;
  const top = 36 + legendRows * 18 + 6;
  const left = 16 + labelWidth;
  const plotW = Math.max(40, width - left - 16 - valueRoom);
  const groupHeights = groups.map((g) => Math.max(1, g.bars.length) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP);
  const plotH = groupHeights.reduce((a, h) => a + h + GROUP_GAP, 0) + (groups.length ? 0 : GROUP_GAP);
  const height = top + plotH + 30;
  const px = (v: number) => left + ((v - axisLo) / (axisHi - axisLo)) * plotW;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${coord(height)}" viewBox="0 0 ${width} ${coord(height)}">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${coord(height)}" fill="#ffffff"/>`);
  parts.push(`<text x="${coord(width / 2)}" y="22" ${FONT} font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>`);

  // Legend under the title, wrapping onto more rows when the names do not fit on one.
  names.forEach((name, i) => {
    const { x, row } = legend.positions[i];
    const lx = 16 + x;
    const ly = 36 + row * 18;
    parts.push(`<rect x="${coord(lx)}" y="${coord(ly)}" width="12" height="12" fill="${colourOf(name)}"/>`);
    parts.push(`<text x="${coord(lx + 16)}" y="${coord(ly + 6)}" ${FONT} font-size="12" dominant-baseline="middle">${escapeXml(name)}</text>`);
  });

  // Gridlines and value axis along the bottom.
  const bottomY = top + plotH;
  for (const t of axis.ticks) {
    const xx = coord(px(t));
    parts.push(`<line x1="${xx}" y1="${coord(top)}" x2="${xx}" y2="${coord(bottomY)}" stroke="#e0e0e0" stroke-width="1"/>`);
    parts.push(`<text x="${xx}" y="${coord(bottomY + 16)}" ${FONT} font-size="11" text-anchor="middle">${formatTick(t, axis.step)}</text>`);
  }
  parts.push(`<line x1="${coord(left)}" y1="${coord(bottomY)}" x2="${coord(left + plotW)}" y2="${coord(bottomY)}" stroke="#333333" stroke-width="1"/>`);

  let y = top + GROUP_GAP / 2;
  groups.forEach((group, gi) => {
    parts.push(`<text x="${coord(left - 8)}" y="${coord(y + groupHeights[gi] / 2)}" ${FONT} font-size="12" text-anchor="end" dominant-baseline="middle">${escapeXml(group.label)}</text>`);
    group.bars.forEach((bar, bi) => {
      const by = y + bi * (BAR_HEIGHT + BAR_GAP);
      const mid = coord(by + BAR_HEIGHT / 2);
      if (Number.isFinite(bar.value)) {
        const x0 = px(Math.min(0, bar.value));
        const x1 = px(Math.max(0, bar.value));
        parts.push(`<rect x="${coord(x0)}" y="${coord(by)}" width="${coord(x1 - x0)}" height="${BAR_HEIGHT}" fill="${colourOf(bar.name)}"><title>${escapeXml(`${bar.name}: ${formatValue(bar.value)}`)}</title></rect>`);
        parts.push(`<text x="${coord(x1 + 4)}" y="${mid}" ${FONT} font-size="11" dominant-baseline="middle">${formatValue(bar.value)}</text>`);
      } else {
        parts.push(`<text x="${coord(px(0) + 4)}" y="${mid}" ${FONT} font-size="11" fill="#888888" dominant-baseline="middle">n/a</text>`);
      }
    });
    y += groupHeights[gi] + GROUP_GAP;
  });
  parts.push(`<line x1="${coord(px(0))}" y1="${coord(top)}" x2="${coord(px(0))}" y2="${coord(bottomY)}" stroke="#333333" stroke-width="1"/>`);

  parts.push("</svg>");
  return parts.join("\n");
}

/** Places legend entries left to right, wrapping at `maxWidth`. */
function legendLayout(names: string[], maxWidth: number): { positions: { x: number; row: number }[]; lastRowIndex: number } {
  const positions: { x: number; row: number }[] = [];
  let x = 0;
  let row = 0;
  for (const name of names) {
    const w = 16 + textWidth(name, 12) + 16;
    if (x > 0 && x + w > maxWidth) {
      x = 0;
      row++;
    }
    positions.push({ x, row });
    x += w;
  }
  return { positions, lastRowIndex: row };
}
