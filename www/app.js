// The page: it runs the training and wires the views together. Training runs in train-worker.js,
// predictions in predict-worker.js (drawing.js), the settings form is form.js, results results.js.
import { LossChart } from './chart.js';
import { clearCheckpoint, loadCheckpoint, saveCheckpoint } from './store.js';
import { RunList } from './runs.js';
import { setEnergyPresets, showCard, showCompression, showCost } from './cost.js';
import { drawPreview, fillForm, fillPreset, readSettings, requestPreview, startForm } from './form.js';
import { clearResults, drawGrid, drawReconstructions, drawViews } from './results.js';
import { forgetNetwork, teacherWeights, useRunWeights, useShippedWeights } from './drawing.js';
import { download, downloadWeights } from './figures.js';
import { addHealth, newRun } from './inside.js';

const $ = (id) => document.getElementById(id);
let trainer = null;   // the training worker, replaced if it fails (see startTrainer)
let dataLoaded = false;   // whether that worker has MNIST (the form's preview needs it)
const chart = new LossChart($('chart'));
startForm({ post: (message) => trainer.postMessage(message), dataLoaded: () => dataLoaded });

// ---- training -------------------------------------------------------------------------------
let run = null;   // {settings, teacher, latest: the last weights the worker sent}

function setButtons(state) {
  const on = { idle: ['start', 'reset'], loading: [], running: ['pause', 'stop'], paused: ['resume', 'stop'] }[state];
  for (const id of ['start', 'pause', 'resume', 'stop', 'reset']) $(id).disabled = !on.includes(id);
}
setButtons('loading');

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
  chart.reset(settings.network);
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
let saving = Promise.resolve();   // the last checkpoint's write to IndexedDB

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
$('compress').onclick = () => trainer.postMessage({ type: 'compress' });

// Back to a fresh page: default settings, no chart or results, the shipped weights answering.
// Only between runs (Stop first), and a checkpoint kept in this browser stays.
$('reset').onclick = () => {
  run = null;
  checkpoint = null;
  $('settings').reset();
  fillForm({});
  chart.reset();
  $('progress').value = 0;
  clearResults();
  for (const id of ['run-error', 'weights-error']) $(id).textContent = '';
  $('resume-offer').hidden = true;
  $('download').disabled = $('compress').disabled = true;
  for (const id of ['card', 'compression']) $(id).hidden = true;
  $('cost').textContent = '';
  useShippedWeights();
  newRun();
  $('status').textContent = 'Reset: the shipped weights answer drawings. Press Train to start a run.';
};

// Who answers drawings during a run, before its first evaluation: the model being trained, or for
// an RNN or autoencoder, the CNN beside it (the run's network has its own panel).
function whoReads(network, where) {
  if (network === 'rnn' || network === 'autoencoder') {
    return `The ${network === 'rnn' ? 'RNN' : 'autoencoder'} being trained shows what it makes of your drawings under`
      + ` "What this network sees" (its weights after ${where}); the CNN keeps answering in the bars.`;
  }
  return `Drawings are read by the model being trained (its weights after ${where}).`;
}

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
    case 'preset': fillPreset(data.settings); break;
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
      newRun();   // the health chart and weight histograms start again
      forgetNetwork();   // an RNN or autoencoder shown before: this run's network replaces it
      break;
    case 'step':
      $('progress').value = data.steps_done / data.total_steps;
      $('status').textContent = `epoch ${data.epoch}/${data.epochs} · step ${data.step}/${data.steps_per_epoch}`
        + ` · loss ${data.loss.toFixed(4)}${data.penalty > 0 ? ` + penalty ${data.penalty.toFixed(4)}` : ''}`
        + ` · lr ${data.learning_rate.toPrecision(3)} · ${Math.round(data.samples_per_second)} samples/s`
        + ` · ${formatTime(data.seconds)} worked · ETA ${formatTime(data.eta_seconds)}`;
      chart.addStep(data.steps_done, data.loss, data.total_steps, data.penalty);
      addHealth(data.health);   // every 10th step
      showCost(data.cost);
      break;
    case 'epoch':
      run.evaluated = true;
      chart.addEpoch(data.loss, data.accuracy);
      if (data.reconstructions) {   // an autoencoder: no classes, its reconstructions instead
        $('model-info').textContent = `After epoch ${data.epoch}: test reconstruction error ${data.loss.toFixed(4)} `
          + `(mean squared error per pixel, pixels from 0 to 1). The first ${data.reconstructions.length / 784} test `
          + 'digits, each above its reconstruction:';
        drawReconstructions(testImages, data.reconstructions);
      } else {
        $('model-info').textContent = `After epoch ${data.epoch}: test accuracy ${(data.accuracy * 100).toFixed(2)}%, `
          + `test loss ${data.loss.toFixed(4)}. The first ${data.predictions.length} test digits:`;
        drawGrid(data.predictions, testImages, testLabels);
        drawViews(data);
      }
      showCost(data.cost);
      $('compress').disabled = false;
      break;
    case 'weights':
      run.latest = { bytes: data.bytes.slice(), where: `epoch ${data.epoch}, step ${data.step}` };
      if (!run.evaluated) $('model-info').textContent = whoReads(run.settings.network, run.latest.where);
      useRunWeights(run.latest.bytes, data.bytes, { epoch: data.epoch, epochDone: data.epochDone });
      $('download').disabled = false;
      break;
    case 'checkpoint':
      lastCheckpoint = { bytes: data.bytes, info: data.info, settings: run.settings, teacher: run.teacher,
                         accuracy: data.accuracy, savedAt: Date.now() };
      saving = saveCheckpoint(lastCheckpoint)
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
      // Said once the stop's checkpoint is in IndexedDB, so a reload from here loses nothing.
      saving.then(() => {
        setButtons('idle');
        $('status').textContent += ' · stopped';
        if (lastCheckpoint) offerToContinue(lastCheckpoint, `Stopped ${checkpointPlace(lastCheckpoint.info)}: Continue goes on exactly from there.`);
      });
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

// ---- run comparison: www/runs.js ------------------------------------------------------------
const runs = new RunList({ chart, download, formatTime });
