// The convolutions' filters as pictures, redrawn whenever new weights reach the prediction
// worker: conv1's kernels (one 3×3 picture each) and conv2's (one row per output channel, one
// 3×3 slice per input channel), each layer on one diverging scale: blue negative, red positive.
import { css, diverging, maxAbs, paintTiles, short } from './heatmaps.js';

const $ = (id) => document.getElementById(id);

/** Draws the filters of a `weight-views` message; `weights` says whose, in words. */
export function showFilters(filters, weights) {
  const { conv1, conv1_shape: [out1, in1, kh, kw], conv2, conv2_shape: [out2, in2, kh2, kw2] } = filters;
  const max1 = maxAbs(conv1), max2 = maxAbs(conv2);
  paintTiles($('filters1'), conv1, { count: out1 * in1, width: kw, height: kh, columns: Math.min(8, out1 * in1),
                                     scale: 8, colour: (v) => diverging(v / max1) });
  paintTiles($('filters2'), conv2, { count: out2 * in2, width: kw2, height: kh2, columns: in2,
                                     scale: 2, colour: (v) => diverging(v / max2) });
  $('filters1-caption').textContent = `conv1: ${out1} kernels of ${kh}×${kw}; scale ±${short(max1)} (the largest |w|)`;
  $('filters2-caption').textContent = `conv2: ${out2} rows (its output channels) × ${in2} slices (one per`
    + ` block 1 map); scale ±${short(max2)}`;
  $('filters-source').textContent = `Drawn from ${weights}.`;
}

// The scale's key: −max, 0, +max.
$('filters-key').style.background = `linear-gradient(to right, ${css(diverging(-1))}, ${css(diverging(0))}, ${css(diverging(1))})`;
