// The prediction worker: a CPU model that answers drawings at once, even while a training step
// runs in the other worker, and draws the views inside the network from the same model: each
// layer's output and a saliency map with every prediction, SmoothGrad and occlusion on request,
// the filters and weight histograms whenever weights arrive, the test set's embedding map after
// each epoch. It starts with the shipped weights; the trainer's weights replace them.
// A run's or a file's RNN or autoencoder is kept beside that CNN (which keeps answering): its
// views come with each prediction, and an autoencoder with a 2-number code maps the test set.
import init, { Predictor, prepareImage } from './pkg/cpu/kindling.js';
import { fetchIdx } from './mnist.js';
import { hasCodeMap, networkKind } from './networks.js';

// Test images the embedding map computes before answering drawings that wait: a part takes a few
// tens of milliseconds, the whole map (Rust says how many images) about a second.
const EMBEDDING_PART = 100;
// Test images the code map encodes before answering drawings that wait (a few tens of ms).
const CODES_PART = 1000;

let predictor = null;
let testSet = null;   // a promise of the test set's arrival, once asked
let mapNumber = 0;    // the map being computed: a newer request abandons an older one
let network = null;   // the header of the network beside the CNN (an RNN, an autoencoder), or null
let codeMaps = 0;     // code maps started: a newer one (or forgetting the network) abandons an older
let codeMapping = false;   // whether a code map is being computed: a run's weights then wait
let waiting = null;   // the latest of those weights, taken once the map is done
const post = (message) => self.postMessage(message);
const timed = (work) => { const started = performance.now(); const value = work(); return [value, performance.now() - started]; };

// The filters and weight histograms of the current weights.
function postWeightViews(epoch) {
  const [views, ms] = timed(() => ({ filters: JSON.parse(predictor.filters()), histograms: JSON.parse(predictor.histograms()) }));
  post({ type: 'weight-views', epoch, ...views, ms });
}

// The test set, fetched once when a map first needs it.
function fetchTestSet() {
  testSet ??= Promise.all([fetchIdx('t10k-images-idx3-ubyte'), fetchIdx('t10k-labels-idx1-ubyte')])
    .then(([images, labels]) => {
      predictor.setTestSet(images, labels);
      const pixels = predictor.testImages();
      post({ type: 'test-images', count: pixels.length / 784, pixels });
    });
  return testSet;
}

// The embedding map of the current weights, once the test set is here.
async function postEmbedding(epoch) {
  await fetchTestSet();
  const mine = ++mapNumber, started = performance.now();
  predictor.embeddingStart();
  for (;;) {
    const map = predictor.embeddingStep(EMBEDDING_PART);
    if (map) { post({ type: 'embedding', epoch, map: JSON.parse(map), ms: performance.now() - started }); return; }
    await new Promise((resolve) => setTimeout(resolve));   // drawings waiting are answered here
    if (mine !== mapNumber) return;
  }
}

// The network beside the CNN now (Rust's `networkHeader`), for the page: `epoch` is the run's,
// null for a loaded file's; a null header when there is none.
function postNetwork(epoch) {
  const header = predictor?.networkHeader();
  network = header ? JSON.parse(header) : null;
  post({ type: 'network', header: network, epoch });
}

// What the network beside the CNN makes of a drawing: the RNN's answer after each row, or the
// autoencoder's reconstruction and code.
function networkLook(input) {
  if (!network) return null;
  const started = performance.now();
  const look = networkKind(network) === 'rnn' ? { kind: 'rnn', rows: JSON.parse(predictor.rows(input)) }
    : { kind: 'autoencoder', reconstruction: predictor.reconstruct(input), code: predictor.code(input) };
  return { ...look, ms: performance.now() - started };
}

// The codes of all the test images, when the autoencoder's code is 2 numbers (a map), a part at
// a time so that drawings are answered meanwhile. A run's weights that arrive meanwhile wait, so
// the whole map comes from one set of weights.
async function postCodes(epoch) {
  if (!hasCodeMap(network)) return;
  const mine = ++codeMaps, started = performance.now();
  codeMapping = true;
  try {
    await fetchTestSet();
    const labels = predictor.testLabels();
    const points = new Float32Array(labels.length * 2);
    for (let start = 0; start < labels.length; start += CODES_PART) {
      if (mine !== codeMaps) return;
      points.set(predictor.codes(start, CODES_PART), start * 2);
      await new Promise((resolve) => setTimeout(resolve));   // drawings waiting are answered here
    }
    if (mine === codeMaps) post({ type: 'codes', epoch, points, labels, ms: performance.now() - started });
  } finally {
    if (mine === codeMaps) {
      codeMapping = false;
      if (waiting) { const next = waiting; waiting = null; await takeWeights(next); }
    }
  }
}

// A run's weights: a CNN's replace the CNN's (and its views follow), another network's go beside it.
async function takeWeights({ bytes, epoch, epochDone }) {
  const header = JSON.parse(predictor.load(bytes));
  if (networkKind(header) === 'cnn') {
    postWeightViews(epoch);
    if (epochDone) await postEmbedding(epoch);
  } else {
    postNetwork(epoch);
    if (epochDone) await postCodes(epoch);
  }
}

self.onmessage = async ({ data }) => {
  try {
    switch (data.type) {
      case 'predict': {
        const input = prepareImage(data.rgba, data.width, data.height);
        const [look, ms] = timed(() => JSON.parse(predictor.look(input, data.class ?? undefined)));
        post({ type: 'prediction', id: data.id, input, probabilities: look.activations.probabilities, look, ms,
               network: networkLook(input) });
        break;
      }
      case 'decode':   // the picture a code of the code map stands for
        post({ type: 'decoded', id: data.id, code: data.code, pixels: predictor.decode(Float32Array.from(data.code)) });
        break;
      case 'explain': {   // SmoothGrad and occlusion for one class: slower, on request
        const [explanation, ms] = timed(() => JSON.parse(predictor.explain(data.input, data.class)));
        post({ type: 'explanation', id: data.id, explanation, ms });
        break;
      }
      case 'weights':  // from the trainer: always a file it just wrote
        // While the code map is computed the latest wait (each map is of one set of weights); an
        // epoch's end among them still brings a new map.
        if (codeMapping) waiting = { ...data, epochDone: data.epochDone || Boolean(waiting?.epochDone) };
        else await takeWeights(data);
        break;
      case 'load': {   // from the user: may be anything
        const header = JSON.parse(predictor.load(data.bytes));
        post({ type: 'loaded', header });
        if (networkKind(header) === 'cnn') {
          postWeightViews(null);
          await postEmbedding(null);
        } else {
          postNetwork(null);
          await postCodes(null);
        }
        break;
      }
      case 'forget':   // a new run: its own network replaces the one beside the CNN
        forgetNetwork();
        break;
      case 'reset':    // back to the shipped weights alone
        forgetNetwork();
        await loadShipped();
        break;
    }
  } catch (error) {
    post({ type: 'error', request: data.type, id: data.id, message: error.message ?? String(error) });
  }
};

function forgetNetwork() {
  codeMaps += 1;   // a code map in progress is abandoned
  codeMapping = false;
  waiting = null;
  predictor?.clearNetwork();
  postNetwork(null);
}

async function loadShipped() {
  const response = await fetch('pkg/mnist-cnn.kndl');
  if (!response.ok) throw new Error(`pkg/mnist-cnn.kndl: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  // After a Reset the same predictor loads them: a new one would lack the test set (sent once)
  // and the last map's axes.
  const header = predictor ? predictor.load(bytes) : (predictor = new Predictor(bytes)).header();
  post({ type: 'ready', header: JSON.parse(header), healthNote: Predictor.healthNote() });
  postWeightViews(null);
  await postEmbedding(null);
}

try {
  await init();
  await loadShipped();
} catch (error) {
  post({ type: 'error', request: 'init', message: error.message ?? String(error) });
}
