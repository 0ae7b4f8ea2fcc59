// The training worker: owns the data, the device and the run. It trains one step at a time and
// yields to its event loop between steps, so Pause and Stop act within one step; the page only
// draws what it posts. After each epoch it posts a checkpoint the page keeps in IndexedDB.
// Messages: see README.md in this folder.
import init, { Training } from './pkg/cpu/kindling.js';

const FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
               't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
// Send the predictor fresh weights this often, so drawings use the model being trained.
const WEIGHTS_EVERY_MS = 2000;

let files = null;         // the four inflated IDX files
let training = null;      // the run in progress
let state = 'idle';       // idle | running | paused | stopping
let lastAccuracy;

const post = (message, transfer) => self.postMessage(message, transfer ?? []);
const yieldToEvents = () => new Promise((resolve) => setTimeout(resolve, 0));

// Fetches a gzip IDX file and inflates it in the browser, reporting compressed bytes read.
async function fetchIdx(name, onBytes) {
  const response = await fetch(`data/${name}.gz`);
  if (!response.ok) throw new Error(`data/${name}.gz: HTTP ${response.status} (run ./build.sh serve)`);
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) { onBytes(chunk.byteLength); controller.enqueue(chunk); },
  }));
  const inflated = counted.pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(inflated).arrayBuffer());
}

async function loadData() {
  const sizes = await Promise.all(FILES.map(async (name) => {
    const head = await fetch(`data/${name}.gz`, { method: 'HEAD' });
    return Number(head.headers.get('content-length')) || 0;
  }));
  const total = sizes.reduce((a, b) => a + b, 0);
  let loaded = 0;
  post({ type: 'loading', loaded, total });
  const onBytes = (n) => { loaded += n; post({ type: 'loading', loaded, total }); };
  files = await Promise.all(FILES.map((name) => fetchIdx(name, onBytes)));
  post({ type: 'loaded', total });
}

// Trains with `settings`; from a checkpoint's weights when `weights` is given.
async function train(settings, weights) {
  training?.free();
  training = null;
  training = Training.cpu(files[0], files[1], files[2], files[3], JSON.stringify(settings), weights);
  post({ type: 'started', backend: training.backend(),
         images: training.shownImages(), labels: training.shownLabels() });
  state = 'running';
  lastAccuracy = undefined;
  let lastWeights = performance.now();
  let started = performance.now(), samplesAtStart = 0, samplesSeen = 0;
  while (state === 'running' || state === 'paused') {
    if (state === 'paused') { await new Promise((resolve) => setTimeout(resolve, 50)); continue; }
    const report = JSON.parse(await training.step());
    samplesSeen = report.samples_seen;
    const seconds = (performance.now() - started) / 1000;
    post({ type: 'step', ...report, samplesPerSec: (samplesSeen - samplesAtStart) / seconds });
    if (report.epoch_done) {
      const evaluation = JSON.parse(await training.evaluate());
      lastAccuracy = evaluation.accuracy;
      post({ type: 'epoch', epoch: report.epoch, ...evaluation });
      const bytes = training.save(lastAccuracy);
      post({ type: 'checkpoint', epoch: report.epoch, accuracy: lastAccuracy, bytes }, [bytes.buffer]);
    }
    if (report.finished || performance.now() - lastWeights > WEIGHTS_EVERY_MS) {
      const bytes = training.save(lastAccuracy);
      post({ type: 'weights', bytes }, [bytes.buffer]);
      lastWeights = performance.now();
    }
    if (report.finished) { state = 'idle'; post({ type: 'finished' }); return; }
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
        await train(data.settings, data.weights);
        break;
      case 'pause': if (state === 'running') { state = 'paused'; post({ type: 'paused' }); } break;
      case 'resume': if (state === 'paused') { state = 'running'; post({ type: 'resumed' }); } break;
      case 'stop': if (state !== 'idle') state = 'stopping'; break;
      case 'save':
        if (training) {
          const bytes = training.save(lastAccuracy);
          post({ type: 'download', bytes }, [bytes.buffer]);
        }
        break;
    }
  } catch (error) {
    state = 'idle';
    post({ type: 'error', message: error.message ?? String(error) });
  }
};

try {
  await init();
  await loadData();
} catch (error) {
  post({ type: 'error', message: `loading failed: ${error.message ?? error}` });
}
