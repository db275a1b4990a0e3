// Training curves as plain SVG strings: no scripts, no external fonts or stylesheets, so the file opens the
// same in a browser, an image viewer or a report, and can be written from any runtime.

export interface Series {
  name: string;
  /** y per x index (x = 1..n); NaN (or any non-finite value) marks a missing point. */
  values: number[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  width?: number;
  height?: number;
}

/** Tableau 10: distinguishable colours that stay readable on white. */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

const FONT = 'font-family="sans-serif"';

/** Escapes text for use inside SVG elements and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A coordinate with at most two decimals; never "NaN" or "-0" (callers only pass finite numbers). */
export function coord(v: number): string {
  const rounded = Math.round(v * 100) / 100;
  return Object.is(rounded, -0) ? "0" : String(rounded);
}

/** Rough text width for layout (no font metrics without a renderer): ~0.6 em per character. */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/**
 * "Nice" tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `target` of them. The returned
 * range [ticks[0], ticks[last]] contains [lo, hi], so the data never leaves the plot area.
 */
export function niceTicks(lo: number, hi: number, target = 5): { ticks: number[]; step: number } {
  if (!(hi > lo)) {
    // Flat or empty data: give it a unit-sized window around the value.
    const centre = Number.isFinite(lo) ? lo : 0;
    const pad = centre === 0 ? 1 : Math.abs(centre) * 0.1;
    lo = centre - pad;
    hi = centre + pad;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  const step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(i * step);
  return { ticks, step };
}

/** A tick label with as many decimals as the step needs (0.1 steps → "0.3", not "0.30000000000000004"). */
export function formatTick(v: number, step: number): string {
  const decimals = Math.min(12, Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  const text = v.toFixed(decimals);
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/** A self-contained SVG (no scripts, no external fonts) of one or more series against x = 1..n, with axes, ticks, gridlines, legend. */
export function lineChartSvg(series: Series[], options: LineChartOptions): string {
  const width = Math.max(200, options.width ?? 640);
  const height = Math.max(150, options.height ?? 360);
  const names = series.map((s, i) => s.name || `series ${i + 1}`);
  const legendWidth = names.length ? Math.min(width * 0.35, Math.max(...names.map((n) => textWidth(n, 12))) + 34) : 0;

  // Ranges from the finite values only: one NaN must not blank the whole chart.
  const n = Math.max(1, ...series.map((s) => s.values.length));
  let yMin = Infinity;
  let yMax = -Infinity;
  for (const s of series) {
    for (const v of s.values) {
      if (!Number.isFinite(v)) continue;
      if (v < yMin) yMin = v;
      if (v > yMax) yMax = v;
    }
  }
  if (yMin > yMax) yMin = yMax = 0;
  const y = niceTicks(yMin, yMax, 5);
  // x ticks are epochs/steps: integers within 1..n, every one up to 10, then a nice step (plus 1 itself
  // when the step is wide enough that its label does not crowd the next).
  const xStep = n <= 10 ? 1 : Math.max(1, Math.round(niceTicks(1, n, 8).step));
  const xTicks: number[] = xStep >= 3 || xStep === 1 ? [1] : [];
  for (let t = xStep; t <= n; t += xStep) if (t !== 1) xTicks.push(t);

  const yLabelWidth = Math.max(...y.ticks.map((t) => textWidth(formatTick(t, y.step), 11)));
  const left = 28 + yLabelWidth + 8;
  const right = 16 + legendWidth;
  const top = 36;
  const bottom = 46;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const yLo = y.ticks[0];
  const yHi = y.ticks[y.ticks.length - 1];
  // A single point sits in the middle rather than on the left axis.
  const xLo = n === 1 ? 0 : 1;
  const xHi = n === 1 ? 2 : n;
  const px = (xv: number) => left + ((xv - xLo) / (xHi - xLo)) * plotW;
  const py = (yv: number) => top + plotH - ((yv - yLo) / (yHi - yLo)) * plotH;

  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${coord(width / 2)}" y="22" ${FONT} font-size="15" font-weight="bold" text-anchor="middle">${escapeXml(options.title)}</text>`);

  // Gridlines and tick labels.
  for (const t of y.ticks) {
    const yy = coord(py(t));
    parts.push(`<line x1="${coord(left)}" y1="${yy}" x2="${coord(left + plotW)}" y2="${yy}" stroke="#e0e0e0" stroke-width="1"/>`);
    parts.push(`<text x="${coord(left - 6)}" y="${yy}" ${FONT} font-size="11" text-anchor="end" dominant-baseline="middle">${formatTick(t, y.step)}</text>`);
  }
  for (const t of xTicks) {
    const xx = coord(px(t));
    parts.push(`<line x1="${xx}" y1="${coord(top)}" x2="${xx}" y2="${coord(top + plotH)}" stroke="#f0f0f0" stroke-width="1"/>`);
    parts.push(`<line x1="${xx}" y1="${coord(top + plotH)}" x2="${xx}" y2="${coord(top + plotH + 4)}" stroke="#333333" stroke-width="1"/>`);
    parts.push(`<text x="${xx}" y="${coord(top + plotH + 16)}" ${FONT} font-size="11" text-anchor="middle">${t}</text>`);
  }

  // Axes.
  parts.push(`<line x1="${coord(left)}" y1="${coord(top)}" x2="${coord(left)}" y2="${coord(top + plotH)}" stroke="#333333" stroke-width="1"/>`);
  parts.push(`<line x1="${coord(left)}" y1="${coord(top + plotH)}" x2="${coord(left + plotW)}" y2="${coord(top + plotH)}" stroke="#333333" stroke-width="1"/>`);
  parts.push(`<text x="${coord(left + plotW / 2)}" y="${coord(height - 10)}" ${FONT} font-size="12" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  const yLabelX = coord(14);
  const yLabelY = coord(top + plotH / 2);
  parts.push(`<text x="${yLabelX}" y="${yLabelY}" ${FONT} font-size="12" text-anchor="middle" transform="rotate(-90 ${yLabelX} ${yLabelY})">${escapeXml(options.yLabel)}</text>`);

  // Lines: a missing value breaks the line; a point with no neighbour gets a dot so it stays visible.
  series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const finite = (j: number) => j >= 0 && j < s.values.length && Number.isFinite(s.values[j]);
    let path = "";
    for (let j = 0; j < s.values.length; j++) {
      if (!finite(j)) continue;
      const point = `${coord(px(j + 1))},${coord(py(s.values[j]))}`;
      path += finite(j - 1) ? ` L${point}` : ` M${point}`;
      if (!finite(j - 1) && !finite(j + 1)) {
        parts.push(`<circle cx="${coord(px(j + 1))}" cy="${coord(py(s.values[j]))}" r="3" fill="${colour}"/>`);
      }
    }
    if (path) parts.push(`<path d="${path.trim()}" fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round"/>`);
  });

  // Legend, right of the plot.
  names.forEach((name, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const lx = left + plotW + 14;
    const ly = top + 8 + i * 18;
    parts.push(`<line x1="${coord(lx)}" y1="${coord(ly)}" x2="${coord(lx + 18)}" y2="${coord(ly)}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<text x="${coord(lx + 24)}" y="${coord(ly)}" ${FONT} font-size="12" dominant-baseline="middle">${escapeXml(name)}</text>`);
  });

  parts.push("</svg>");
  return parts.join("\n");
}

/** Several charts stacked vertically in one SVG (e.g. loss above accuracy). */
export function stackCharts(svgs: string[]): string {
  let totalHeight = 0;
  let maxWidth = 0;
  const placed: string[] = [];
  for (const svg of svgs) {
    const body = svg.replace(/^\s*<\?xml[^>]*\?>\s*/, "");
    const open = /^\s*<svg\b[^>]*>/.exec(body);
    if (!open) throw new Error("stackCharts: each chart must be an SVG document starting with <svg>");
    const width = Number(/\swidth="([\d.]+)"/.exec(open[0])?.[1] ?? 0);
    const height = Number(/\sheight="([\d.]+)"/.exec(open[0])?.[1] ?? 0);
    // A nested <svg> with x/y is positioned like a group and keeps its own viewBox.
    placed.push(body.replace(/^\s*<svg\b/, `<svg x="0" y="${coord(totalHeight)}"`));
    totalHeight += height;
    maxWidth = Math.max(maxWidth, width);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${coord(maxWidth)}" height="${coord(totalHeight)}" viewBox="0 0 ${coord(maxWidth)} ${coord(totalHeight)}">`,
    `<rect x="0" y="0" width="${coord(maxWidth)}" height="${coord(totalHeight)}" fill="#ffffff"/>`,
    ...placed,
    "</svg>",
  ].join("\n");
}
