// `train --plot`: the per-epoch history as an SVG — loss (and val_loss) above, each other metric below.

import { lineChartSvg, stackCharts, type Series } from "../viz/line-chart";

export function trainingCurvesSvg(history: Record<string, number[]>, modelName: string): string {
  const metrics = Object.keys(history).filter((k) => !k.startsWith("val_"));
  const charts = metrics.map((metric) => {
    const series: Series[] = [{ name: metric, values: history[metric] }];
    if (history[`val_${metric}`]) series.push({ name: `val_${metric}`, values: history[`val_${metric}`] });
    return lineChartSvg(series, { title: `${modelName}: ${metric} per epoch`, xLabel: "epoch", yLabel: metric });
  });
  return stackCharts(charts);
}
