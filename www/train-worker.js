// The training worker: owns the data, the device and the run. It trains one step at a time and
// yields to its event loop between steps, so Pause and Stop act within one step; the page only
// draws what it posts. After each epoch it posts a checkpoint the page keeps in IndexedDB.
// Messages: see README.md in this folder.
import init, { augmentPreview, energyPresets, presetSettings, runCard, runRecord } from './pkg/cpu/kindling.js';
import { openTraining } from './backends.js';
import { loadMnist } from './mnist.js';

// Send the predictor fresh weights this often, so drawings use the model being trained.
const WEIGHTS_EVERY_MS = 2000;

let files = null;         // the four inflated IDX files
let dataBytes = 0;        // the bytes downloaded for them
let training = null;      // the run in progress
let state = 'idle';       // idle | running | paused | stopping
let lastAccuracy;
let lastReport = null;    // the last step that kept its update
let lastEvaluation = null;
let lastCost = null;      // what the run has spent so far (the ledger's report)
// How many training images the augmentation preview shows.
const PREVIEW_IMAGES = 16;

const post = (message, transfer) => self.postMessage(message, transfer ?? []);

// Watch every GPU device the WebGPU bundle opens: when one is lost (driver reset, GPU removed,
// `destroy()`), the next step fails and this says why.
let deviceLost = null;
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    device.lost.then((info) => { deviceLost = info.message?.replace(/\.$/, '') || `reason: ${info.reason}`; });
    return device;
  };
}
const yieldToEvents = () => new Promise((resolve) => setTimeout(resolve, 0));

async function loadData() {
  const loaded = await loadMnist((loaded, total) => post({ type: 'loading', loaded, total }));
  files = loaded.files;
  dataBytes = loaded.total;
  post({ type: 'loaded', total: loaded.total });
}

// The browser's WebGPU adapter, or null: {vendor, architecture, fallback}.
async function findAdapter() {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info ?? {};
    return { vendor: info.vendor || 'unknown vendor', architecture: info.architecture || '',
             fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) };
  } catch {
    return null;
  }
}
const describe = (a) => `WebGPU (${[a.vendor, a.architecture].filter(Boolean).join(' ')}${a.fallback ? ', software fallback' : ''})`;
const adapterPromise = findAdapter();
adapterPromise.then((adapter) => post({ type: 'adapter', adapter: adapter && describe(adapter), fallback: adapter?.fallback }));

const open = (backend, settings, weights, teacher) => openTraining(backend, files, settings, weights, teacher);

// Seconds of a second training step (the first compiles shaders or warms caches).
async function timeSteps(backend, settings) {
  const trial = await open(backend, { ...settings, epochs: 1 }, undefined);
  try {
    await trial.step();
    const started = performance.now();
    await trial.step();
    return (performance.now() - started) / 1000;
  } finally {
    trial.free();
  }
}

// Which backend a run uses: the user's choice, else WebGPU on a hardware adapter, the CPU
// without one, and on a software adapter whichever trains faster, timed here.
async function chooseBackend(choice, settings) {
  const adapter = await adapterPromise;
  if (choice === 'cpu') return { backend: 'cpu', why: 'chosen' };
  if (!adapter) {
    return { backend: 'cpu', why: choice === 'webgpu' ? 'WebGPU is not available in this browser' : 'no WebGPU adapter' };
  }
  if (choice === 'webgpu' || !adapter.fallback) return { backend: 'webgpu', why: describe(adapter) };
  post({ type: 'probing', adapter: describe(adapter) });
  const cpu = await timeSteps('cpu', settings);
  const gpu = await timeSteps('webgpu', settings);
  const backend = gpu < cpu ? 'webgpu' : 'cpu';
  return { backend, why: `timed a step: CPU ${cpu.toFixed(2)} s, ${describe(adapter)} ${gpu.toFixed(2)} s` };
}

// The current weights, for predictions and to continue from if the run fails: after `report`'s
// step, with the epochs fully done by then.
function sendWeights(bytes, report) {
  const epochsDone = report.epoch - (report.epoch_done ? 0 : 1);
  post({ type: 'weights', bytes, epoch: report.epoch, step: report.step, epochsDone }, [bytes.buffer]);
}

// Trains with `settings`; from a checkpoint's weights when `weights` is given, after
// `epochsBefore` epochs of the run it continues; distilling from `teacher`'s weights if given.
async function train(settings, weights, epochsBefore = 0, teacher = undefined) {
  training?.free();
  training = null;
  const { backend, why } = await chooseBackend(settings.backend ?? 'auto', settings);
  training = await open(backend, settings, weights, teacher);
  post({ type: 'started', backend: backend === 'webgpu' ? 'WebGPU' : 'CPU', why,
         images: training.shownImages(), labels: training.shownLabels() });
  state = 'running';
  lastAccuracy = undefined;
  lastReport = null;
  lastEvaluation = null;
  const device = backend === 'webgpu' ? why : 'CPU (wasm)';
  const started = performance.now();
  let lastWeights = started;
  let modelBytes = 0;
  while (state === 'running' || state === 'paused') {
    if (state === 'paused') { await new Promise((resolve) => setTimeout(resolve, 50)); continue; }
    const report = JSON.parse(await training.step());
    lastReport = report;
    lastCost = report.cost;
    const seconds = (performance.now() - started) / 1000;
    post({ type: 'step', ...report, samplesPerSec: report.samples_seen / seconds });
    let bytes = null;   // the weights file, written at most once a step
    if (report.epoch_done) {
      const evaluation = JSON.parse(await training.evaluate());
      lastAccuracy = evaluation.accuracy;
      lastEvaluation = evaluation;
      lastCost = evaluation.cost;
      report.finished ||= evaluation.stop != null;   // early stopping ends the run here
      post({ type: 'epoch', epoch: report.epoch, ...evaluation });
      bytes = await training.save(lastAccuracy);
      post({ type: 'checkpoint', epoch: report.epoch, accuracy: lastAccuracy, bytes: bytes.slice() });
    }
    if (report.finished || performance.now() - lastWeights > WEIGHTS_EVERY_MS) {
      bytes ??= await training.save(lastAccuracy);
      modelBytes = bytes.length;   // before the buffer moves to the page
      sendWeights(bytes, report);
      lastWeights = performance.now();
    }
    if (report.finished) {
      state = 'idle';
      const facts = { device, images: Math.min(settings.limit, 60000), epochs: report.epoch + epochsBefore,
                      seconds: (performance.now() - started) / 1000, test_accuracy: lastEvaluation.accuracy,
                      test_loss: lastEvaluation.loss, finished_at: Math.floor(Date.now() / 1000),
                      cost: lastCost, data_bytes: dataBytes, model_bytes: modelBytes };
      const record = runRecord(JSON.stringify(settings), JSON.stringify(facts), Boolean(teacher));
      post({ type: 'finished', record, card: runCard(record), stopped: lastEvaluation.stop });
      return;
    }
    await yieldToEvents();
  }
  state = 'idle';
  post({ type: 'stopped' });
}

self.onmessage = async ({ data }) => {
  try {
    switch (data.type) {
      case 'train':
        if (state !== 'idle') return;
        await train(data.settings, data.weights, data.epochsBefore, data.teacher);
        break;
      case 'compress': await compress(); break;
      case 'preset': post({ type: 'preset', settings: JSON.parse(presetSettings(data.name)) }); break;
      case 'preview': preview(data.settings, data.seed); break;
      case 'pause': if (state === 'running') { state = 'paused'; post({ type: 'paused' }); } break;
      case 'resume': if (state === 'paused') { state = 'running'; post({ type: 'resumed' }); } break;
      case 'stop': if (state !== 'idle') state = 'stopping'; break;
      case 'save':
        if (training) {
          const bytes = await training.save(lastAccuracy, data.precision);
          post({ type: 'download', bytes, precision: data.precision ?? 'f32' }, [bytes.buffer]);
        }
        break;
    }
  } catch (error) {
    state = 'idle';
    await failed(error);
  }
};

// Bytes of `bytes` gzipped, as a server would send them.
async function gzippedLength(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('gzip'));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

// The run's model as int8 against f32: file sizes raw and gzipped, and test accuracy of each
// on the full test set (the int8 copy is evaluated here, on the CPU).
async function compress() {
  if (!training || !lastEvaluation) return;
  const f32 = await training.save(lastAccuracy, 'f32');
  const int8 = await training.save(lastAccuracy, 'int8');
  const quantized = JSON.parse(await training.evaluateWeights(int8));
  post({ type: 'compressed', f32: { bytes: f32.length, gzipped: await gzippedLength(f32), accuracy: lastAccuracy },
         int8: { bytes: int8.length, gzipped: await gzippedLength(int8), accuracy: quantized.accuracy }, weights: int8 },
       [int8.buffer]);
}

// The first training images as `settings` would augment them, or why the settings cannot.
function preview(settings, seed) {
  if (!files) return;
  try {
    const images = files[0].subarray(16, 16 + PREVIEW_IMAGES * 784);   // after the IDX header
    const labels = files[1].subarray(8, 8 + PREVIEW_IMAGES);
    const { pixels, captions, blend } = JSON.parse(augmentPreview(images, labels, JSON.stringify(settings), seed));
    post({ type: 'preview', pixels: Uint8Array.from(pixels), captions, blend });
  } catch (error) {
    post({ type: 'preview', error: error.message ?? String(error) });
  }
}

// A diverged run keeps its model (the weights from before the bad step): it goes to the page
// for predictions and download. Any other failure in a run may have left the wasm or the device
// unusable: the page replaces this worker and keeps the last weights it was sent.
async function failed(error) {
  const message = error.message ?? String(error);
  if (error.name === 'Diverged' || error.name === 'SettingsError') {
    if (error.name === 'Diverged' && lastReport) {
      try {
        // The model went back to the weights from before the last step that kept its update.
        sendWeights(await training.save(lastAccuracy), { ...lastReport, step: lastReport.step - 1, epoch_done: false });
      } catch { /* the page keeps the last weights it was sent */ }
    }
    post({ type: 'error', kind: error.name, message });
  } else {
    post({ type: 'failed', deviceLost, message });
  }
}

try {
  await init();
  post({ type: 'energy', presets: JSON.parse(energyPresets()) });
  await loadData();
} catch (error) {
  post({ type: 'error', message: `loading failed: ${error.message ?? error}` });
}
