// The page: it only draws. Training runs in train-worker.js, predictions in predict-worker.js.
import { LossChart } from './chart.js';
import { DrawingPad } from './pad.js';
import { clearCheckpoint, loadCheckpoint, saveCheckpoint } from './store.js';
import { RunList } from './runs.js';
import init, { checkRun, checkSetting, settingsSchema } from './pkg/cpu/kindling.js';
import { describePrecision, efficiencySettings, setEnergyPresets, showCard, showCompression, showCost,
         showEfficiencyFields } from './cost.js';

const $ = (id) => document.getElementById(id);
let trainer = null;   // the training worker, replaced if it fails (see startTrainer)
const predictor = new Worker('predict-worker.js', { type: 'module' });
const chart = new LossChart($('chart'));
const pad = new DrawingPad($('pad'), () => requestPrediction());

// ---- settings -------------------------------------------------------------------------------
// Every number's default, range and the sentence that refuses it come from Rust (the CPU bundle's
// `settingsSchema` and `checkSetting`): the form only shows them.
let schema = null;   // {settings: [{name, label, help, integer, default, optional, …}], optimizers, choices}
const CHECKBOXES = ['batch_norm', 'flip', 'mixup_on', 'stop_on', 'patience_on', 'student', 'distill', 'compute_f16'];
const RECIPE_NOTES = {
  gd: 'Gradient descent updates the weights once per epoch, with the gradient of the whole training set: few, slow steps.',
  adamw: 'AdamW shrinks the weights by learning rate × weight decay at every step, apart from the gradient.',
};

// The form's number fields take their defaults from Rust, and each gets a place for its sentence.
function setUpForm(described) {
  schema = described;
  const form = $('settings');
  for (const setting of schema.settings) {
    const input = form.elements[setting.name];
    if (!input) continue;   // a command-line-only setting (test images, layer sizes)
    input.defaultValue = input.value = String(setting.default);
    input.step = setting.integer ? '1' : 'any';
    input.title = setting.help;
    const why = Object.assign(document.createElement('small'), { className: 'why' });
    why.dataset.for = setting.name;
    input.after(why);
  }
  for (const [name, value] of Object.entries(schema.choices)) {
    form.elements[name].value = value;
    for (const option of form.elements[name].options) option.defaultSelected = option.value === value;
  }
  showRecipeFields();
  readSettings();
}

// The form's settings, or null with each refusal shown beside its field and above the buttons.
function readSettings() {
  if (!schema) return null;
  const form = $('settings');
  const settings = {};
  const problems = [];
  for (const { name } of schema.settings) {
    const input = form.elements[name];
    if (!input) continue;
    const off = input.dataset.when && !form.elements[input.dataset.when].checked;
    const why = off ? '' : checkSetting(name, input.value);
    input.classList.toggle('invalid', why !== '');
    form.querySelector(`.why[data-for=${name}]`).textContent = why;
    if (why) problems.push(why);
    settings[name] = off ? null : Number(input.value);
  }
  for (const name of ['backend', 'optimizer', 'schedule', 'power']) settings[name] = form.elements[name].value;
  for (const name of CHECKBOXES) settings[name] = form.elements[name].checked;
  if (problems.length) {
    $('settings-error').textContent = problems.join('; ');
    return null;
  }
  const ready = efficiencySettings(form, settings);
  $('settings-error').textContent = checkRun(JSON.stringify(ready));   // what no one field shows
  return $('settings-error').textContent ? null : ready;
}
$('settings').addEventListener('input', readSettings);

// Puts saved or preset settings in the form; mixup's α is null when mixup is off.
function fillForm(values) {
  const form = $('settings');
  for (const [name, value] of Object.entries(values)) {
    const input = form.elements[name];
    if (!input || value == null) continue;
    if (input.type === 'checkbox') input.checked = Boolean(value);
    else input.value = value;
  }
  if ('mixup' in values) form.elements.mixup_on.checked = values.mixup != null;
  showRecipeFields();
  readSettings();
  requestPreview();
}

// A preset starts from the form's defaults; the training worker knows each preset's settings.
$('settings').elements.preset.addEventListener('change', ({ target }) => {
  trainer.postMessage({ type: 'preset', name: target.value });
});

// Only the fields the chosen optimizer and schedule use are shown.
function showRecipeFields() {
  const { optimizer, schedule } = $('settings').elements;
  for (const label of $('recipe').querySelectorAll('[data-optimizers]')) {
    label.hidden = !label.dataset.optimizers.split(' ').includes(optimizer.value);
  }
  for (const label of $('recipe').querySelectorAll('[data-schedules]')) {
    label.hidden = !label.dataset.schedules.split(' ').includes(schedule.value);
  }
  $('recipe-note').textContent = RECIPE_NOTES[optimizer.value] ?? '';
  const { flip, mixup_on: mixup } = $('settings').elements;
  $('flip-warning').hidden = !flip.checked;
  $('augmentation').querySelector('[data-mixup]').hidden = !mixup.checked;
  showEfficiencyFields($('settings'));
}
$('efficiency').addEventListener('change', showRecipeFields);
describePrecision();
$('settings').elements.optimizer.addEventListener('change', ({ target }) => {
  const defaults = schema.optimizers.find((o) => o.name === target.value);
  for (const name of ['learning_rate', 'weight_decay']) $('settings').elements[name].value = defaults[name];
  showRecipeFields();
  readSettings();
});
$('settings').elements.schedule.addEventListener('change', showRecipeFields);
showRecipeFields();
init().then(() => setUpForm(JSON.parse(settingsSchema())))
  .catch((e) => { $('settings-error').textContent = `The settings could not be checked: ${e.message ?? e}`; });

// ---- augmentation preview -------------------------------------------------------------------
// The same training images, augmented as the form says, redrawn shortly after each change.
let previewSeed = 1, previewTimer = 0, dataLoaded = false;
function requestPreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => {
    const settings = readSettings();
    if (settings && dataLoaded) trainer.postMessage({ type: 'preview', settings, seed: previewSeed });
  }, 120);
}
$('augmentation').addEventListener('input', () => { showRecipeFields(); requestPreview(); });
$('reshuffle').onclick = () => { previewSeed += 1; requestPreview(); };

function drawPreview({ pixels, captions, blend }) {
  const shares = blend && `${Math.round(blend * 100)}% the first class and ${Math.round((1 - blend) * 100)}% the second`;
  $('preview').replaceChildren(...captions.map((caption, i) => {
    const title = caption.includes('+') ? `a blend: ${shares}` : `trained as a ${caption}`;
    const figure = digitFigure(pixels.subarray(i * 784, (i + 1) * 784), 0, 0, title);
    figure.querySelector('figcaption').textContent = caption;
    return figure;
  }));
  $('preview-blend').textContent = blend ? `Mixup, this draw: each image is ${shares} (one weight a batch).` : '';
}

// ---- training -------------------------------------------------------------------------------
let run = null;   // {settings, teacher, latest: the last weights the worker sent}

function setButtons(state) {
  const on = { idle: ['start', 'reset'], loading: [], running: ['pause', 'stop'], paused: ['resume', 'stop'] }[state];
  for (const id of ['start', 'pause', 'resume', 'stop', 'reset']) $(id).disabled = !on.includes(id);
}
setButtons('loading');

// The weights now reading drawings: the last ones a run sent, a loaded file, or the shipped ones.
let currentWeights = null, loadingWeights = null;
async function teacherWeights() {
  if (currentWeights) return currentWeights.slice();
  const response = await fetch('pkg/mnist-cnn.kndl');
  return new Uint8Array(await response.arrayBuffer());
}

// Starts a run; `from` is where it starts: a checkpoint (the run it holds goes on exactly,
// with its own teacher) or weights (a new run on them). With distillation ticked, the model
// now reading drawings teaches it.
async function startRun(settings, from) {
  const teacher = from?.teacher ?? (settings.distill ? await teacherWeights() : undefined);
  run = { settings, teacher, latest: null };
  lastCheckpoint = null;
  for (const id of ['card', 'compression']) $(id).hidden = true;
  $('cost').textContent = '';
  $('compress').disabled = true;
  chart.reset();
  $('resume-offer').hidden = true;
  $('run-error').textContent = '';
  $('status').textContent = 'Starting…';
  $('progress').value = 0;
  setButtons('running');
  trainer.postMessage({ type: 'train', settings, weights: from?.bytes, teacher });
}

$('start').onclick = () => {
  const settings = readSettings();
  if (settings) startRun(settings, null);
};

// What Continue starts from: a checkpoint {bytes, info, settings, teacher, accuracy, savedAt}
// (after Stop, a reload or a failure) or weights {bytes, where} (after a diverged run, or a
// failure before the first checkpoint).
let checkpoint = null;
let lastCheckpoint = null;   // the run's latest, as the worker sent it

// Where a checkpoint stopped, in words: "after epoch 1 of 2" or "in epoch 2 of 2, after step 3 of 10".
function checkpointPlace({ epoch, batch, epochs, steps_per_epoch: steps }) {
  return batch === 0 ? `after epoch ${epoch} of ${epochs}`
    : `in epoch ${epoch + 1} of ${epochs}, after step ${batch} of ${steps}`;
}
function offerToContinue(from, text) {
  checkpoint = from;
  $('resume-text').textContent = text;
  $('resume-offer').hidden = false;
}

// A checkpoint left by an earlier visit: its settings go in the form, and Continue uses them.
async function offerCheckpoint() {
  let saved;
  try { saved = await loadCheckpoint(); } catch { saved = null; }
  // A checkpoint of a finished run, or a weights file kept by an older version, has nothing to continue.
  if (!saved?.info || saved.info.epoch >= saved.info.epochs) return;
  fillForm(saved.settings);
  offerToContinue(saved, `A run from ${new Date(saved.savedAt).toLocaleString()} stopped ${checkpointPlace(saved.info)}`
    + `${saved.accuracy == null ? '' : ` (test accuracy ${(saved.accuracy * 100).toFixed(2)}%)`}. Continue goes on exactly from there.`);
}
// Continue with the settings in the form: a checkpoint accepts more epochs and refuses any other
// change (it continues exactly); weights take any settings (say, a lower learning rate after a
// diverged run).
$('continue').onclick = () => {
  const settings = readSettings();
  if (settings) startRun(settings, checkpoint);
};
$('discard').onclick = async () => {
  $('resume-offer').hidden = true;
  if (checkpoint?.savedAt) await clearCheckpoint();   // the one kept in this browser
  checkpoint = null;
};
$('pause').onclick = () => trainer.postMessage({ type: 'pause' });
$('resume').onclick = () => trainer.postMessage({ type: 'resume' });
$('stop').onclick = () => trainer.postMessage({ type: 'stop' });
$('download').onclick = () => trainer.postMessage({ type: 'save' });

// Back to a fresh page: default settings, no chart or results, the shipped weights answering.
// Only between runs (Stop first), and a checkpoint kept in this browser stays.
$('reset').onclick = () => {
  run = null;
  checkpoint = null;
  $('settings').reset();
  fillForm({});
  chart.reset();
  $('progress').value = 0;
  $('grid').replaceChildren();
  $('views').hidden = true;
  $('export-csv').disabled = $('export-json').disabled = true;
  for (const id of ['run-error', 'weights-error']) $(id).textContent = '';
  $('resume-offer').hidden = true;
  $('download').disabled = $('compress').disabled = true;
  for (const id of ['card', 'compression']) $(id).hidden = true;
  $('cost').textContent = '';
  currentWeights = null;
  predictor.postMessage({ type: 'reset' });
  $('status').textContent = 'Reset: the shipped weights answer drawings. Press Train to start a run.';
};

const formatTime = (s) => (s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s)} s`);
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

let testImages = null, testLabels = null;

function onTrainerMessage({ data }) {
  switch (data.type) {
    case 'loading':
      $('status').textContent = `Loading MNIST… ${mb(data.loaded)} of ${mb(data.total)}`;
      $('progress').value = data.total ? data.loaded / data.total : 0;
      break;
    case 'loaded':
      $('status').textContent = `MNIST loaded (${mb(data.total)} gzipped). Press Train.`;
      setButtons('idle');
      dataLoaded = true;
      requestPreview();
      if (!checkpoint) offerCheckpoint();
      break;
    case 'energy': setEnergyPresets(data.presets); break;
    case 'preset': {
      const name = $('settings').elements.preset.value;
      $('settings').reset();
      $('settings').elements.preset.value = name;
      fillForm(data.settings);
      break;
    }
    case 'preview':
      if (data.error) $('settings-error').textContent = data.error;
      else drawPreview(data);
      break;
    case 'adapter':
      $('device-note').textContent = data.adapter
        ? `${data.adapter} is available${data.fallback ? '; on a software adapter the CPU may be faster, so a run times both first' : ''}.`
        : 'No WebGPU in this browser: training runs on the CPU.';
      $('backend').textContent = data.adapter ? 'WebGPU available' : 'CPU only';
      break;
    case 'probing':
      $('status').textContent = `Timing a training step on the CPU and on ${data.adapter} to pick the faster…`;
      break;
    case 'started':
      $('backend').textContent = `training on ${data.backend}`;
      $('device-note').textContent = `Training on ${data.backend}: ${data.why}.`;
      testImages = data.images; testLabels = data.labels;
      break;
    case 'step':
      $('progress').value = data.steps_done / data.total_steps;
      $('status').textContent = `epoch ${data.epoch}/${data.epochs} · step ${data.step}/${data.steps_per_epoch}`
        + ` · loss ${data.loss.toFixed(4)}${data.penalty > 0 ? ` + penalty ${data.penalty.toFixed(4)}` : ''}`
        + ` · lr ${data.learning_rate.toPrecision(3)} · ${Math.round(data.samples_per_second)} samples/s`
        + ` · ${formatTime(data.seconds)} worked · ETA ${formatTime(data.eta_seconds)}`;
      chart.addStep(data.steps_done, data.loss, data.total_steps, data.penalty);
      showCost(data.cost);
      break;
    case 'epoch':
      run.evaluated = true;
      chart.addEpoch(data.loss, data.accuracy);
      $('model-info').textContent = `After epoch ${data.epoch}: test accuracy ${(data.accuracy * 100).toFixed(2)}%, `
        + `test loss ${data.loss.toFixed(4)}. The first ${data.predictions.length} test digits:`;
      drawGrid(data.predictions);
      drawViews(data);
      showCost(data.cost);
      $('compress').disabled = false;
      break;
    case 'weights':
      run.latest = { bytes: data.bytes.slice(), where: `epoch ${data.epoch}, step ${data.step}` };
      if (!run.evaluated) {
        $('model-info').textContent = `Drawings are read by the model being trained (its weights after ${run.latest.where}).`;
      }
      currentWeights = run.latest.bytes;
      predictor.postMessage({ type: 'weights', bytes: data.bytes }, [data.bytes.buffer]);
      $('download').disabled = false;
      break;
    case 'checkpoint':
      lastCheckpoint = { bytes: data.bytes, info: data.info, settings: run.settings, teacher: run.teacher,
                         accuracy: data.accuracy, savedAt: Date.now() };
      saveCheckpoint(lastCheckpoint)
        .catch((e) => { $('status').textContent += ` · not saved in this browser: ${e.message ?? e}`; });
      break;
    case 'download': downloadWeights(data.bytes, data.precision); break;
    case 'compressed':
      showCompression(data);
      $('download-int8').onclick = () => downloadWeights(data.weights, 'int8');
      break;
    case 'paused': setButtons('paused'); $('status').textContent += ' · paused'; break;
    case 'resumed': setButtons('running'); break;
    case 'finished':
      setButtons('idle');
      $('status').textContent += data.stopped ? ` · stopped early: ${data.stopped}` : ' · done';
      showCard(JSON.parse(data.record), data.card, download);
      runs.keep(data.record);
      break;
    case 'stopped':
      setButtons('idle');
      $('status').textContent += ' · stopped';
      if (lastCheckpoint) offerToContinue(lastCheckpoint, `Stopped ${checkpointPlace(lastCheckpoint.info)}: Continue goes on exactly from there.`);
      break;
    case 'error':
      setButtons(testImages || run ? 'idle' : 'loading');
      $('status').textContent += ' · stopped';
      $('run-error').textContent = data.kind === 'Diverged'
        ? `${data.message}. The model is back to its last good weights: Continue from them, or Train afresh.`
        : `Training stopped: ${data.message}`;
      // Weights that do not fit the settings (say, BatchNorm ticked for a plain model's
      // checkpoint): change the settings and continue again.
      if (data.kind === 'SettingsError' && checkpoint) $('resume-offer').hidden = false;
      if (data.kind === 'Diverged' && run.latest) {
        offerToContinue(run.latest, `Continue from the last good weights (after ${run.latest.where}) with the settings above.`);
      }
      break;
    case 'failed': restartTrainer(data.deviceLost ? `The GPU device was lost (${data.deviceLost})` : `Training failed: ${data.message}`); break;
  }
}

// The training worker, started again after a failure (a lost GPU device, a crash): nothing of
// the page is lost, and the last weights it sent are offered to continue from.
function startTrainer() {
  trainer = new Worker('train-worker.js', { type: 'module' });
  trainer.onmessage = onTrainerMessage;
  trainer.onerror = (event) => restartTrainer(`The training worker failed: ${event.message ?? 'unknown error'}`);
}

function restartTrainer(why) {
  trainer.terminate();
  dataLoaded = false;
  setButtons('loading');
  $('backend').textContent = 'stopped';
  const latest = run?.latest;
  $('run-error').textContent = latest
    ? `${why}. Training stopped; the weights after ${latest.where} are kept.`
    : `${why}. Training stopped before any weights were kept.`;
  // The run's checkpoint continues it exactly (from the end of its last epoch); without one,
  // the last weights start a new run.
  if (lastCheckpoint) {
    offerToContinue(lastCheckpoint, `Continue exactly from the run's checkpoint (${checkpointPlace(lastCheckpoint.info)}), `
      + 'on a new device (or choose the CPU above).');
  } else if (latest) {
    offerToContinue(latest, 'Continue from the kept weights, on a new device (or choose the CPU above).');
  }
  startTrainer();
}
startTrainer();

// A 28×28 grayscale image (one byte a pixel) as canvas pixels.
function grayImage(pixels) {
  const image = new ImageData(28, 28);
  pixels.forEach((v, p) => image.data.set([v, v, v, 255], p * 4));
  return image;
}

// A test digit with the model's answer under it; a wrong one is marked and gives the label too.
function digitFigure(pixels, label, predicted, title) {
  const figure = document.createElement('figure');
  const canvas = Object.assign(document.createElement('canvas'), { width: 28, height: 28 });
  canvas.getContext('2d').putImageData(grayImage(pixels), 0, 0);
  const caption = document.createElement('figcaption');
  const wrong = predicted !== label;
  caption.textContent = wrong ? `${predicted} (${label})` : `${predicted}`;
  figure.className = wrong ? 'wrong' : '';
  figure.title = title;
  figure.append(canvas, caption);
  return figure;
}

function drawGrid(predictions) {
  $('grid').replaceChildren(...predictions.map((predicted, i) => digitFigure(
    testImages.subarray(i * 784, (i + 1) * 784), testLabels[i], predicted,
    `label ${testLabels[i]}, predicted ${predicted}`)));
}

// The evaluation views after an epoch: the confusion matrix as a heat-map (each cell shaded by
// its share of the row, mistakes red, right answers green) and the most confident mistakes.
let lastEvaluation = null;
function drawViews(evaluation) {
  lastEvaluation = evaluation;
  const { confusion, per_class_accuracy: accuracy, most_confident_mistakes: mistakes } = evaluation.report;
  const cell = (tag, text, title) => Object.assign(document.createElement(tag), { textContent: text, title: title ?? '' });
  const header = document.createElement('tr');
  header.append(cell('th', 'true╲read'), ...confusion.map((_, c) => cell('th', c)), cell('th', 'right'));
  const rows = confusion.map((row, label) => {
    const tr = document.createElement('tr');
    const total = row.reduce((a, b) => a + b, 0) || 1;
    tr.append(cell('th', label), ...row.map((n, predicted) => {
      const td = cell('td', n || '', `${n} images of ${label} read as ${predicted}`);
      const share = n / total;
      td.style.background = label === predicted ? `rgba(43,138,62,${share})`
        : `rgba(224,49,49,${Math.min(1, share * 8)})`;   // mistakes are rare: shade them 8× stronger
      if (share > 0.5) td.style.color = '#fff';
      return td;
    }), cell('th', `${(accuracy[label] * 100).toFixed(1)}%`));
    return tr;
  });
  $('confusion').replaceChildren(header, ...rows);
  $('mistakes').replaceChildren(...mistakes.map((m, i) => digitFigure(
    evaluation.mistake_images[i], m.label, m.predicted,
    `test image ${m.index}: a ${m.label} read as ${m.predicted} with probability ${(m.confidence * 100).toFixed(1)}%`)));
  $('views').hidden = false;
  $('export-csv').disabled = $('export-json').disabled = false;
}
$('export-csv').onclick = () => download(lastEvaluation.confusion_csv, 'text/csv', 'kindling-confusion.csv');
$('export-json').onclick = () => download(JSON.stringify(lastEvaluation.report, null, 1), 'application/json',
                                          'kindling-evaluation.json');

function download(contents, type, name) {
  const url = URL.createObjectURL(new Blob([contents], { type }));
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function downloadWeights(bytes, precision = 'f32') {
  download(bytes, 'application/octet-stream', precision === 'int8' ? 'kindling-mnist-int8.kndl' : 'kindling-mnist.kndl');
}
$('compress').onclick = () => trainer.postMessage({ type: 'compress' });

$('weights-file').onchange = async (event) => {
  const file = event.target.files[0];
  event.target.value = '';
  if (!file) return;
  $('weights-error').textContent = '';
  loadingWeights = new Uint8Array(await file.arrayBuffer());
  predictor.postMessage({ type: 'load', bytes: loadingWeights.slice() });
};

// ---- run comparison: www/runs.js ------------------------------------------------------------
const runs = new RunList({ chart, download, formatTime });

// ---- predictions ------------------------------------------------------------------------------
let nextId = 0, inFlight = false, pending = false, predictorReady = false;

function requestPrediction() {
  if (!predictorReady) return;
  if (inFlight) { pending = true; return; }   // at most one at a time: the latest drawing wins
  const picture = pad.pixels();
  if (!picture) { showPrediction(null); return; }
  inFlight = true;
  predictor.postMessage({ type: 'predict', id: ++nextId, ...picture });
}

function showPrediction(data) {
  const items = $('bars').children;
  for (let d = 0; d < 10; d++) {
    const p = data ? data.probabilities[d] : 0;
    items[d].querySelector('span').style.width = `${(p * 100).toFixed(1)}%`;
    items[d].querySelector('output').textContent = data ? `${(p * 100).toFixed(1)}%` : '';
    items[d].classList.toggle('top', !!data && p === Math.max(...data.probabilities));
  }
  const input = $('input28').getContext('2d');
  if (!data) { input.clearRect(0, 0, 28, 28); $('prediction').textContent = 'Draw a digit above.'; return; }
  input.putImageData(grayImage(data.input), 0, 0);
  const best = data.probabilities.indexOf(Math.max(...data.probabilities));
  $('prediction').textContent = `It reads ${best} (${(data.probabilities[best] * 100).toFixed(1)}%, ${data.ms.toFixed(1)} ms)`;
}

$('bars').append(...Array.from({ length: 10 }, (_, d) => {
  const li = document.createElement('li');
  li.innerHTML = `<b>${d}</b><div class="bar"><span></span></div><output></output>`;
  return li;
}));
showPrediction(null);

predictor.onmessage = ({ data }) => {
  switch (data.type) {
    case 'ready':
      predictorReady = true;
      $('model-info').textContent = describeWeights('Shipped weights', data.header);
      requestPrediction();   // what is on the pad, with these weights
      break;
    case 'prediction':
      inFlight = false;
      $('draw-error').textContent = '';
      showPrediction(data);
      if (pending) { pending = false; requestPrediction(); }
      break;
    case 'loaded':
      currentWeights = loadingWeights;
      $('model-info').textContent = describeWeights('Loaded weights', data.header);
      requestPrediction();
      break;
    case 'error':
      if (data.request === 'predict') {
        inFlight = false;
        $('draw-error').textContent = data.message;
      } else if (data.request === 'load') {
        $('weights-error').textContent = `That file was not loaded: ${data.message}. The current model is unchanged.`;
      } else {
        $('draw-error').textContent = `Predictions are unavailable: ${data.message}`;
      }
      break;
  }
};

predictor.onerror = (event) => {
  predictorReady = false;
  $('draw-error').textContent = `The prediction worker failed: ${event.message ?? 'unknown error'}. Reload the page.`;
};

function describeWeights(what, header) {
  const accuracy = header.test_accuracy == null ? 'not measured' : `${(header.test_accuracy * 100).toFixed(2)}%`;
  return `${what}: ${header.epochs} epochs on ${header.dataset}, test accuracy ${accuracy}.`;
}

$('clear').onclick = () => { pad.clear(); showPrediction(null); };
$('image-file').onchange = async (event) => {
  const file = event.target.files[0];
  event.target.value = '';
  if (!file) return;
  try {
    await pad.drawImageFile(file);
    $('draw-error').textContent = '';
    requestPrediction();
  } catch {
    $('draw-error').textContent = `${file.name} is not an image this browser can open.`;
  }
};
