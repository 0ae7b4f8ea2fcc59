// Training health, from the `health` the training worker's step messages carry every few steps
// (`health.every`: 10 on the CPU, 50 on WebGPU, where a measurement costs about a step):
// per layer the gradient's norm (solid) and how much the step changed the weights, relative to
// them (dashed), on a log scale against the step (uPlot); and the warnings Rust says when a
// threshold is crossed, with the steps whose gradient was clipped.
import uPlot from './vendor/uPlot.esm.js';
import { short } from './heatmaps.js';

const $ = (id) => document.getElementById(id);
const COLOURS = { conv1: '#1c7ed6', norm1: '#f59f00', conv2: '#7048e8', norm2: '#c2255c', dense1: '#2b8a3e',
                  dense2: '#d9480f' };
const WARNINGS_SHOWN = 6;

let plot = null, layers = [], data = [], warnings = [], clipped = 0, pending = false;
const element = $('health-chart');
const width = () => Math.max(260, element.clientWidth);

// A log scale has no place for 0 (a layer with no gradient yet): it leaves a gap.
const positive = (v) => (v > 0 && Number.isFinite(v) ? v : null);

function makePlot() {
  plot?.destroy();
  const series = [{}];
  for (const layer of layers) {
    const stroke = COLOURS[layer] ?? '#495057';
    series.push({ label: `${layer} gradient norm`, stroke, width: 1.8, points: { show: true, size: 4 }, spanGaps: true });
    series.push({ label: `${layer} update / weight`, stroke, width: 1.5, dash: [5, 4], points: { show: false }, spanGaps: true });
  }
  series.push({ label: 'whole gradient norm', stroke: '#343a40', width: 1, points: { show: true, size: 3 }, spanGaps: true });
  series.push({ label: 'whole gradient after clipping', stroke: '#343a40', width: 2, dash: [2, 3], points: { show: false }, spanGaps: true });
  plot = new uPlot({
    width: width(), height: 240, legend: { show: false },
    scales: { x: { time: false }, y: { distr: 3 } },
    axes: [{ label: 'training step' }, { label: 'norm and ratio (log)', size: 64, values: (_, ticks) => ticks.map((v) => (v == null ? '' : short(v))) }],
    series,
  }, data, element);
  $('health-legend').replaceChildren(...layers.map((layer) => {
    const item = document.createElement('span');
    item.innerHTML = `<i style="background:${COLOURS[layer] ?? '#495057'}"></i>${layer}`;
    return item;
  }), Object.assign(document.createElement('span'), { innerHTML: '<i style="background:#343a40"></i>whole gradient' }),
      Object.assign(document.createElement('span'), { textContent: 'solid: gradient norm · dashed: update / weight'
        + ' · dotted black: the whole gradient after clipping, when the recipe clips it' }));
}

/** A step's `health` (null on the steps that do not measure it). */
export function addHealth(health) {
  if (!health) return;
  const names = health.layers.map((l) => l.layer);
  if (!plot || names.join() !== layers.join()) {
    layers = names;
    data = [[], ...layers.flatMap(() => [[], []]), [], []];
    makePlot();
  }
  data[0].push(health.step);
  health.layers.forEach((l, i) => {
    data[1 + 2 * i].push(positive(l.gradient_norm));
    data[2 + 2 * i].push(positive(l.update_ratio));
  });
  data[data.length - 2].push(positive(health.gradient_norm));
  data[data.length - 1].push(health.clip_norm == null ? null : positive(Math.min(health.gradient_norm, health.clip_norm)));
  if (health.clipped) clipped += 1;
  for (const sentence of health.warnings) warnings.unshift(`Step ${health.step}: ${sentence}`);
  warnings.length = Math.min(warnings.length, WARNINGS_SHOWN);
  element.dataset.points = data[0].length;
  element.dataset.afterClipping = data[data.length - 1].at(-1) ?? '';
  $('health-caption').textContent = `Measured every ${health.every} steps, at ${data[0].length} so far;`
    + ` at step ${health.step} the whole gradient's norm was ${short(health.gradient_norm)}`
    + `${health.clipped ? ', clipped' : ''}.`;
  showWarnings();
  if (!pending) {
    pending = true;
    requestAnimationFrame(() => { pending = false; plot?.setData(data); });   // unless reset since
  }
}

function showWarnings() {
  const box = $('health-warnings');
  const lines = [...warnings];
  if (clipped) lines.unshift(`The gradient was clipped at ${clipped} of ${data[0].length} measured steps (its norm was above the maximum set).`);
  box.classList.toggle('warning', warnings.length > 0);
  box.replaceChildren(...(lines.length ? lines : ['No warnings: no layer\'s gradient vanishes, the whole gradient does'
    + ' not explode, and no step changes a layer\'s weights by more than 10%.']).map((line) => {
    const p = document.createElement('p');
    p.textContent = line;
    return p;
  }));
}

/** A new run: no measurements yet. */
export function resetHealth() {
  plot?.destroy();
  plot = null;
  layers = []; data = []; warnings = []; clipped = 0;
  delete element.dataset.points;
  $('health-legend').replaceChildren();
  $('health-caption').textContent = 'Nothing measured yet: train a run above.';
  $('health-warnings').classList.remove('warning');
  $('health-warnings').replaceChildren();
}

new ResizeObserver(() => plot?.setSize({ width: width(), height: 240 })).observe(element);
resetHealth();

/** When health is measured and what the warnings watch for: Rust's sentences. */
export function showHealthNote(text) {
  $('health-thresholds').textContent = text;
}
