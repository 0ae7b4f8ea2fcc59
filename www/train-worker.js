// The training worker: owns the data, the device and the run. It trains one step at a time and
// yields to its event loop between steps, so Pause and Stop act within one step; the page only
// draws what it posts. The run (Rust's `Training`) reports its own progress, rate, time left and
// record; this loop relays them. After each epoch, and when stopped, it posts the run's
// checkpoint, which the page keeps in IndexedDB to continue exactly after a reload.
// Messages: see README.md in this folder.
import init, { Training, energyPresets, presetSettings, runCard } from './pkg/cpu/kindling.js';
import { datasets, openTraining } from './backends.js';
import { loadMnist } from './mnist.js';

// Send the predictor fresh weights this often, and after each epoch (its embedding map), so
// drawings and the views inside the network use the model being trained.
const WEIGHTS_EVERY_MS = 2000;

let files = null;         // the four inflated IDX files
let dataBytes = 0;        // the bytes downloaded for them
let training = null;      // the run in progress
let state = 'idle';       // idle | running | paused | stopping
let lastReport = null;    // the last step that kept its update
let lastEvaluation = null;

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
  await datasets('cpu', files);   // parsed and checked here: a damaged file is refused now
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
// step.
function sendWeights(bytes, report) {
  post({ type: 'weights', bytes, epoch: report.epoch, step: report.step, epochDone: report.epoch_done }, [bytes.buffer]);
}

// The run's checkpoint, with what it holds, for the page to keep. Gradient descent cannot be
// checkpointed mid-epoch: then the page keeps the one from the end of the last epoch.
async function sendCheckpoint(accuracy) {
  let bytes;
  try {
    bytes = await training.checkpoint();
  } catch (error) {
    if (error.name === 'CheckpointError') return;
    throw error;
  }
  post({ type: 'checkpoint', bytes, accuracy, info: JSON.parse(Training.checkpointInfo(bytes)) }, [bytes.buffer]);
}

// Trains with `settings`, from `weights` when given: a weights file (a new run on that model)
// or a checkpoint (the run it holds goes on exactly); distilling from `teacher`'s weights if given.
async function train(settings, weights, teacher = undefined) {
  training?.free();
  training = null;
  const { backend, why } = await chooseBackend(settings.backend ?? 'auto', settings);
  training = await open(backend, settings, weights, teacher);
  post({ type: 'started', backend: backend === 'webgpu' ? 'WebGPU' : 'CPU', why,
         images: training.shownImages(), labels: training.shownLabels() });
  state = 'running';
  lastReport = null;
  lastEvaluation = null;
  let lastWeights = -Infinity;   // the page gets the weights after the first step too
  while (state === 'running' || state === 'paused') {
    if (state === 'paused') { await new Promise((resolve) => setTimeout(resolve, 50)); continue; }
    const report = JSON.parse(await training.step());
    lastReport = report;
    post({ type: 'step', ...report });
    if (report.epoch_done) {
      lastEvaluation = JSON.parse(await training.evaluate());
      // An autoencoder's reconstructions of the first test images, as bytes (null for a classifier).
      if (lastEvaluation.reconstructions) lastEvaluation.reconstructions = Uint8Array.from(lastEvaluation.reconstructions);
      report.finished ||= lastEvaluation.stop != null;   // early stopping ends the run here
      post({ type: 'epoch', epoch: report.epoch, ...lastEvaluation });
      await sendCheckpoint(lastEvaluation.accuracy);
    }
    if (report.finished || report.epoch_done || performance.now() - lastWeights > WEIGHTS_EVERY_MS) {
      sendWeights(await training.save(), report);
      lastWeights = performance.now();
    }
    if (report.finished) {
      state = 'idle';
      const device = backend === 'webgpu' ? why : 'CPU (wasm)';
      const record = await training.record(device, dataBytes);
      post({ type: 'finished', record, card: runCard(record), stopped: lastEvaluation.stop });
      return;
    }
    await yieldToEvents();
  }
  // Stopped: the run as it is now, to continue exactly later.
  await sendCheckpoint(lastEvaluation?.accuracy);
  state = 'idle';
  post({ type: 'stopped' });
}

self.onmessage = async ({ data }) => {
  try {
    switch (data.type) {
      case 'train':
        if (state !== 'idle') return;
        await train(data.settings, data.weights, data.teacher);
        break;
      case 'compress': await compress(); break;
      case 'preset': post({ type: 'preset', settings: JSON.parse(presetSettings(data.name)) }); break;
      case 'preview': await preview(data.settings, data.seed); break;
      case 'pause': if (state === 'running') { state = 'paused'; post({ type: 'paused' }); } break;
      case 'resume': if (state === 'paused') { state = 'running'; post({ type: 'resumed' }); } break;
      case 'stop': if (state !== 'idle') state = 'stopping'; break;
      case 'save':
        if (training) {
          const bytes = await training.save(data.precision);
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

// The run's model as int8 against f32: file sizes raw and gzipped, and test accuracy and loss
// of each on the full test set (the int8 copy is evaluated here, on the CPU).
async function compress() {
  if (!training || !lastEvaluation) return;
  const f32 = await training.save('f32');
  const int8 = await training.save('int8');
  const quantized = JSON.parse(await training.evaluateWeights(int8));
  post({ type: 'compressed', f32: { bytes: f32.length, gzipped: await gzippedLength(f32), accuracy: lastEvaluation.accuracy,
                                    loss: lastEvaluation.loss },
         int8: { bytes: int8.length, gzipped: await gzippedLength(int8), accuracy: quantized.accuracy, loss: quantized.loss },
         weights: int8 },
       [int8.buffer]);
}

// The first training images as `settings` would augment them, or why the settings cannot.
async function preview(settings, seed) {
  if (!files) return;
  try {
    const sets = await datasets('cpu', files);
    const { pixels, captions, blend } = JSON.parse(sets.preview(JSON.stringify(settings), seed));
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
        sendWeights(await training.save(), { ...lastReport, step: lastReport.step - 1 });
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
