// Each layer's weights, epoch by epoch: the last weight histogram of each epoch (from the
// prediction worker's `weight-views`) as one row of a small heat map per layer, darker where
// more weights lie. Each epoch's bins span its own min to max, so every row is drawn on the
// layer's common axis, from the least to the largest weight of any row.
import { css, short, sizeCanvas, warm } from './heatmaps.js';

const $ = (id) => document.getElementById(id);
const ROW = 10, GUTTER = 50, AXIS = 16;   // CSS pixels: a row's height, the labels' column, the axis below

let rows = new Map();   // row label ("epoch 3", "shipped") → the histograms of its weights, one per layer

/** A `weight-views` message's histograms, as the row `label` (an epoch's last one replaces the earlier). */
export function addHistograms(histograms, label) {
  rows.delete(label);   // a fresh row goes last, in order of arrival
  rows.set(label, histograms);
  draw();
}

/** A new run: no rows. */
export function resetHistograms() {
  rows = new Map();
  draw();
}

function draw() {
  const box = $('histograms');
  const layers = [...rows.values()][0]?.map((h) => h.layer) ?? [];
  if (box.children.length !== layers.length) {
    box.replaceChildren(...layers.map(() => {
      const figure = document.createElement('figure');
      figure.append(document.createElement('canvas'), document.createElement('figcaption'));
      return figure;
    }));
  }
  layers.forEach((layer, i) => drawLayer(box.children[i], layer, [...rows].map(([label, all]) => [label, all[i]])));
}

function drawLayer(figure, layer, layerRows) {
  const canvas = figure.querySelector('canvas');
  const min = Math.min(...layerRows.map(([, h]) => h.min)), max = Math.max(...layerRows.map(([, h]) => h.max));
  const span = max > min ? max - min : 1;
  const width = Math.max(140, figure.clientWidth), height = layerRows.length * ROW + AXIS;
  const ctx = sizeCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const plotWidth = width - GUTTER - 4;
  const x = (v) => GUTTER + (v - min) / span * plotWidth;
  ctx.font = '10px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  layerRows.forEach(([label, h], r) => {
    const binWidth = (h.max - h.min) / h.counts.length || 1;
    // Weights per unit of the axis, so rows with wide and narrow bins compare.
    const peak = Math.max(...h.counts) / binWidth || 1;
    h.counts.forEach((count, b) => {
      if (!count) return;
      ctx.fillStyle = css(warm(0.15 + 0.85 * Math.sqrt(count / binWidth / peak)));
      const left = x(h.min + b * binWidth);
      ctx.fillRect(left, r * ROW, Math.max(1, x(h.min + (b + 1) * binWidth) - left), ROW - 1);
    });
    ctx.fillStyle = '#5b6475';
    ctx.fillText(label, 0, r * ROW + ROW / 2);
  });
  // The axis: min, 0 and max.
  const bottom = layerRows.length * ROW;
  ctx.strokeStyle = '#adb5bd';
  ctx.beginPath();
  ctx.moveTo(GUTTER, bottom + 1); ctx.lineTo(GUTTER + plotWidth, bottom + 1);
  if (min < 0 && max > 0) { ctx.moveTo(x(0), 0); ctx.lineTo(x(0), bottom + 4); }
  ctx.stroke();
  ctx.fillStyle = '#5b6475';
  ctx.textBaseline = 'top';
  ctx.textAlign = 'left';
  ctx.fillText(short(min), GUTTER, bottom + 4);
  ctx.textAlign = 'right';
  ctx.fillText(short(max), GUTTER + plotWidth, bottom + 4);
  if (min < 0 && max > 0) { ctx.textAlign = 'center'; ctx.fillText('0', x(0), bottom + 4); }
  ctx.textAlign = 'left';
  figure.querySelector('figcaption').textContent = `${layer}: weights from ${short(min)} to ${short(max)}`;
  figure.title = `${layer}'s weights, one row per ${layerRows.length > 1 ? 'epoch' : 'set of weights'}: darker where more weights lie`;
}

let lastWidth = 0;
new ResizeObserver(() => {
  const width = $('histograms').clientWidth;
  if (width !== lastWidth && rows.size) draw();
  lastWidth = width;
}).observe($('histograms'));
