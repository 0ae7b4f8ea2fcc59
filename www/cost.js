// What a run costs, on the page: the cost settings (power, grid, early stopping, distillation),
// the live cost line, the run card and the int8 comparison. Every number comes from the Rust
// ledger through the training worker; this only formats it, always with its assumptions.

const $ = (id) => document.getElementById(id);

/** "1.23 TFLOP", "456.7 GFLOP". */
export const flops = (f) => (f >= 1e12 ? `${(f / 1e12).toFixed(2)} TFLOP` : `${(f / 1e9).toFixed(1)} GFLOP`);
/** "3.42 Wh", "85.0 mWh". */
export const energy = (e) => (e.watt_hours >= 1 ? `${e.watt_hours.toFixed(2)} Wh` : `${(e.watt_hours * 1e3).toFixed(1)} mWh`);
const co2 = (e) => (e.co2_grams >= 1 ? `${e.co2_grams.toFixed(2)} g` : `${(e.co2_grams * 1e3).toFixed(1)} mg`);
const kb = (bytes) => `${Math.round(bytes / 1e3)} KB`;
/** "6", "1.50": epochs of training, whole or part way through one. */
const epochs = (e) => (Number.isInteger(e) ? String(e) : e.toFixed(2));

let powerPresets = [];

/** Fills the power menu from the worker's presets (Rust's `energyPresets`). */
export function setEnergyPresets({ power, grid }) {
  powerPresets = power;
  const select = $('settings').elements.power;
  select.replaceChildren(...power.map((p) => new Option(`${p.source.replace(', assumed', '')} (${p.watts} W)`, p.name)),
                         new Option('other (set watts)', 'custom'));
  select.value = 'desktop-cpu';
  $('settings').elements.grid.value = grid.g_per_kwh;
  $('energy-note').dataset.gridSource = grid.source;
  $('energy-note').textContent = `Estimates, not measurements: energy = the power above × the time the device spent `
    + `on steps and evaluations; CO₂e = energy × the grid's carbon intensity (${grid.g_per_kwh} g/kWh: ${grid.source}).`;
  select.onchange = () => {
    const preset = powerPresets.find((p) => p.name === select.value);
    if (preset) $('settings').elements.watts.value = preset.watts;
  };
}

/** The run settings this fold-out adds: energy assumptions, early stopping, distillation.
 *  `settings`' checkboxes are off where the network chosen has no such option. */
export function efficiencySettings(form, settings) {
  const preset = powerPresets.find((p) => p.name === form.elements.power.value && p.watts === settings.watts);
  const defaultGrid = Number(form.elements.grid.defaultValue) === settings.grid;
  return {
    ...settings,
    stop_at: settings.stop_on ? settings.stop_at : null,
    patience: settings.patience_on ? settings.patience : null,
    compute: settings.compute_f16 ? 'f16' : 'f32',
    energy: { watts: settings.watts, power_source: preset?.source ?? 'set by you',
              grid_g_per_kwh: settings.grid,
              grid_source: defaultGrid ? $('energy-note').dataset.gridSource ?? 'default' : 'set by you' },
  };
}

/** Shows only the fields that apply. */
export function showEfficiencyFields(form) {
  const fold = $('efficiency');
  fold.querySelector('[data-stop]').hidden = !form.elements.stop_on.checked;
  fold.querySelector('[data-patience]').hidden = !form.elements.patience_on.checked;
  for (const label of fold.querySelectorAll('[data-distill]')) label.hidden = !form.elements.distill.checked;
}

/** The live line under the progress bar: what the run has spent, and on what assumptions. */
export function showCost(cost) {
  if (!cost) return;
  const e = cost.energy;
  const milestones = cost.milestones.map((m) => ` · ${Math.round(m.accuracy * 100)}% at epoch ${epochs(m.epoch)}: `
    + `${flops(m.flops)}, ${energy(m.estimate)}`).join('');
  const saved = cost.early_stop ? ` · stopped early (${describeStop(cost.early_stop.reason)}): saved `
    + `${epochs(cost.early_stop.epochs_saved)} epochs ≈ ${flops(cost.early_stop.flops)}, ${energy(cost.early_stop.estimate)}` : '';
  $('cost').textContent = `Spent ${flops(cost.flops)} (${cost.gflops_per_second.toFixed(1)} GFLOP/s) · `
    + `≈ ${energy(cost.estimate)} · ≈ ${co2(cost.estimate)} CO₂e${milestones}${saved}. `
    + `Estimated: ${e.watts} W (${e.power_source}) × ${cost.seconds.toFixed(1)} s of work; `
    + `${e.grid_g_per_kwh} gCO₂e/kWh (${e.grid_source}).`;
}

const describeStop = (r) => (r.kind === 'target' ? `reached ${(r.accuracy * 100).toFixed(2)}%`
  : `no gain for ${r.epochs} epochs`);

/** The finished run's card, with its JSON and text downloads. */
export function showCard(record, text, download) {
  $('card-text').textContent = text;
  $('card').hidden = false;
  $('card-json').onclick = () => download(JSON.stringify(record, null, 1), 'application/json', 'kindling-card.json');
  $('card-txt').onclick = () => download(text, 'text/plain', 'kindling-card.txt');
}

/** The int8 copy against the f32 weights: sizes raw and gzipped, test accuracy (an autoencoder's
 *  test reconstruction error, as it has no accuracy). */
export function showCompression({ f32, int8 }) {
  const classifier = f32.accuracy != null;
  const score = (w) => (classifier ? `${(w.accuracy * 100).toFixed(2)}%` : w.loss.toFixed(4));
  const row = (name, w) => `<tr><td>${name}</td><td class="number">${kb(w.bytes)}</td>`
    + `<td class="number">${kb(w.gzipped)}</td><td class="number">${score(w)}</td></tr>`;
  const points = ((int8.accuracy - f32.accuracy) * 100).toFixed(2);
  const change = classifier ? `${points >= 0 ? '+' : ''}${points} points of test accuracy`
    : `test reconstruction error ${f32.loss.toFixed(4)} → ${int8.loss.toFixed(4)}`;
  $('compression-table').innerHTML = `<tr><th>weights</th><th>file</th><th>gzipped</th><th>${classifier ? 'test accuracy' : 'test error'}</th></tr>`
    + row('f32', f32) + row('int8, a scale per channel', int8)
    + `<caption>int8 is ${(f32.bytes / int8.bytes).toFixed(1)}× smaller (${(f32.gzipped / int8.gzipped).toFixed(1)}× gzipped), `
    + `${change}.</caption>`;
  $('compression').hidden = false;
}

/** What f16 would need here: the GPU's `shader-f16`, and the CPU has no f16 arithmetic. */
export async function describePrecision() {
  let gpu = 'no WebGPU adapter';
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (adapter) gpu = adapter.features.has('shader-f16') ? 'this GPU has shader-f16' : 'this GPU lacks shader-f16';
  } catch { /* keep "no WebGPU adapter" */ }
  $('precision-note').textContent = `Mixed precision (f16): ${gpu}. WebGPU computes in f16 only with shader-f16 `
    + '(a run without it is refused and says so). On the CPU it runs, but slower than f32: burn\'s CPU backend '
    + 'has no f16 arithmetic in the browser (README, "What a run costs"). Not with BatchNorm. int8 (Results) '
    + 'is how this page shrinks a model.';
}
