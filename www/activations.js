// The drawn digit's trip through the network, left to right: the 28×28 input, block 1's maps
// (after conv1, pooling and ReLU), block 2's, the dense layer's units and the ten outputs, from
// the one forward pass each prediction makes. A click on a map enlarges it.
import { describeCost, diverging, maxAbs, paintDigit, paintTiles, sequential, short, tileAt } from './heatmaps.js';

const $ = (id) => document.getElementById(id);
const LAYERS = { block1: 'conv1', block2: 'conv2' };

let last = null;      // the last prediction's activations, with each layer's tiles and scale
let zoomed = null;    // the enlarged map: {block: 'block1' | 'block2', index}
let kernels = null;   // conv1's filters (from the weight views), shown beside an enlarged conv1 map
let shown = null;     // the prediction drawn
const STACKED = matchMedia('(max-width: 480px)');   // as style.css stacks the layers

// One layer's maps as a grid, on one scale (its largest value): brighter is stronger.
function paintLayer(canvas, values, count, side, columns, scale) {
  const max = Math.max(...values) || 1;
  const tiles = paintTiles(canvas, values, { count, width: side, columns, scale, colour: (v) => sequential(v / max) });
  return { values, tiles, max, side, count };
}

/** Draws every layer's output for a prediction (`look.activations`), or clears them (null). */
export function showActivations(prediction) {
  $('network').classList.toggle('empty', !prediction);
  if (!prediction) {
    last = shown = null;
    $('act-cost').textContent = 'Draw a digit above: each layer\'s output for it appears here as you draw.';
    for (const id of ['act-input', 'act-block1', 'act-block2', 'act-hidden']) {
      $(id).getContext('2d').clearRect(0, 0, $(id).width, $(id).height);
    }
    showOutputs(null);
    $('act-zoom').hidden = true;
    return;
  }
  shown = prediction;
  const { input, look, ms } = prediction;
  const a = look.activations;
  // Stacked at phone width, the pictures have room to be larger.
  const scale = STACKED.matches ? 3 : 2;
  paintDigit($('act-input'), input, scale);
  last = {
    block1: paintLayer($('act-block1'), a.block1, a.channels1, a.side1, 4, scale),
    block2: paintLayer($('act-block2'), a.block2, a.channels2, a.side2, 8, scale),
  };
  const hidden = paintLayer($('act-hidden'), a.hidden, a.hidden.length, 1, 4, 2 * scale);
  $('act-block1-caption').textContent = `block 1: ${a.channels1} maps ${a.side1}×${a.side1}`;
  $('act-block2-caption').textContent = `block 2: ${a.channels2} maps ${a.side2}×${a.side2}`;
  $('act-hidden-caption').textContent = `dense: ${a.hidden.length} units`;
  $('act-hidden').title = `the dense layer's ${a.hidden.length} units after ReLU (largest ${short(hidden.max)})`;
  showOutputs(a);
  $('act-cost').textContent = `Cost: ${describeCost(look.activations_cost)} for all of these`
    + ` (${ms.toFixed(1)} ms in the prediction worker, with the saliency map below).`;
  showZoom();
}

// The ten outputs: probability bars, the logit in each bar's title.
function showOutputs(a) {
  const list = $('act-outputs');
  if (list.children.length !== 10) {
    list.replaceChildren(...Array.from({ length: 10 }, (_, d) => {
      const li = document.createElement('li');
      li.innerHTML = `<b>${d}</b><span class="bar"><span></span></span>`;
      return li;
    }));
  }
  const best = a ? a.probabilities.indexOf(Math.max(...a.probabilities)) : -1;
  [...list.children].forEach((li, d) => {
    const p = a ? a.probabilities[d] : 0;
    li.querySelector('.bar span').style.width = `${(p * 100).toFixed(1)}%`;
    li.classList.toggle('top', d === best);
    li.title = a ? `${d}: probability ${(p * 100).toFixed(1)}%, score (logit) ${a.logits[d].toFixed(2)}` : '';
  });
}

// The enlarged map, redrawn with each prediction; for a conv1 map, the filter that made it beside it.
function showZoom() {
  const layer = zoomed && last?.[zoomed.block];
  if (!layer || zoomed.index >= layer.count) { $('act-zoom').hidden = true; return; }
  const { side, values, max } = layer;
  const start = zoomed.index * side * side;
  paintTiles($('act-zoom-map'), values.slice(start, start + side * side),
             { count: 1, width: side, columns: 1, scale: Math.floor(132 / side), colour: (v) => sequential(v / max) });
  const name = LAYERS[zoomed.block];
  let caption = `${name} map ${zoomed.index + 1} of ${layer.count}, ${side}×${side} after pooling`
    + ` (brightest in the layer: ${short(max)})`;
  const kernel = zoomed.block === 'block1' && kernels?.conv1_shape[1] === 1 && kernels.conv1_shape[0] === layer.count;
  $('act-zoom-kernel').hidden = !kernel;
  if (kernel) {
    const [, , kh, kw] = kernels.conv1_shape;
    const k = kernels.conv1.slice(zoomed.index * kh * kw, (zoomed.index + 1) * kh * kw);
    const scale = maxAbs(kernels.conv1);
    paintTiles($('act-zoom-kernel'), k, { count: 1, width: kw, height: kh, columns: 1, scale: 14,
                                          colour: (v) => diverging(v / scale) });
    caption += `; beside it, conv1's filter ${zoomed.index + 1} that made it`;
  }
  $('act-zoom-caption').textContent = caption;
  $('act-zoom').hidden = false;
}

/** The current weights' filters (a `weight-views` message's), for the enlarged conv1 map. */
export function setKernels(filters) {
  kernels = filters;
  if (zoomed) showZoom();
}

for (const block of ['block1', 'block2']) {
  $(`act-${block}`).addEventListener('click', (event) => {
    if (!last) return;
    const index = tileAt(event, $(`act-${block}`), last[block].tiles);
    if (index < 0) return;
    zoomed = { block, index };
    showZoom();
  });
}
STACKED.addEventListener('change', () => { if (shown) showActivations(shown); });
$('act-zoom-close').onclick = () => { zoomed = null; $('act-zoom').hidden = true; };
showActivations(null);
