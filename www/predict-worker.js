// The prediction worker: a CPU model that answers drawings at once, even while a training step
// runs in the other worker, and draws the views inside the network from the same model: each
// layer's output and a saliency map with every prediction, SmoothGrad and occlusion on request,
// the filters and weight histograms whenever weights arrive, the test set's embedding map after
// each epoch. It starts with the shipped weights; the trainer's weights replace them.
import init, { Predictor, prepareImage } from './pkg/cpu/kindling.js';
import { fetchIdx } from './mnist.js';

// Test images the embedding map computes before answering drawings that wait: a part takes a few
// tens of milliseconds, the whole map (Rust says how many images) about a second.
const EMBEDDING_PART = 100;

let predictor = null;
let testSet = null;   // a promise of the test set's arrival, once asked
let mapNumber = 0;    // the map being computed: a newer request abandons an older one
const post = (message) => self.postMessage(message);
const timed = (work) => { const started = performance.now(); const value = work(); return [value, performance.now() - started]; };

// The filters and weight histograms of the current weights.
function postWeightViews(epoch) {
  const [views, ms] = timed(() => ({ filters: JSON.parse(predictor.filters()), histograms: JSON.parse(predictor.histograms()) }));
  post({ type: 'weight-views', epoch, ...views, ms });
}

// The embedding map of the current weights, once the test set is here.
async function postEmbedding(epoch) {
  testSet ??= Promise.all([fetchIdx('t10k-images-idx3-ubyte'), fetchIdx('t10k-labels-idx1-ubyte')])
    .then(([images, labels]) => {
      predictor.setTestSet(images, labels);
      const pixels = predictor.testImages();
      post({ type: 'test-images', count: pixels.length / 784, pixels });
    });
  await testSet;
  const mine = ++mapNumber, started = performance.now();
  predictor.embeddingStart();
  for (;;) {
    const map = predictor.embeddingStep(EMBEDDING_PART);
    if (map) { post({ type: 'embedding', epoch, map: JSON.parse(map), ms: performance.now() - started }); return; }
    await new Promise((resolve) => setTimeout(resolve));   // drawings waiting are answered here
    if (mine !== mapNumber) return;
  }
}

self.onmessage = async ({ data }) => {
  try {
    switch (data.type) {
      case 'predict': {
        const input = prepareImage(data.rgba, data.width, data.height);
        const [look, ms] = timed(() => JSON.parse(predictor.look(input, data.class ?? undefined)));
        post({ type: 'prediction', id: data.id, input, probabilities: look.activations.probabilities, look, ms });
        break;
      }
      case 'explain': {   // SmoothGrad and occlusion for one class: slower, on request
        const [explanation, ms] = timed(() => JSON.parse(predictor.explain(data.input, data.class)));
        post({ type: 'explanation', id: data.id, explanation, ms });
        break;
      }
      case 'weights':  // from the trainer: always a file it just wrote
        predictor.load(data.bytes);
        postWeightViews(data.epoch);
        if (data.epochDone) await postEmbedding(data.epoch);
        break;
      case 'load':     // from the user: may be anything
        post({ type: 'loaded', header: JSON.parse(predictor.load(data.bytes)) });
        postWeightViews(null);
        await postEmbedding(null);
        break;
      case 'reset':    // back to the shipped weights
        await loadShipped();
        break;
    }
  } catch (error) {
    post({ type: 'error', request: data.type, id: data.id, message: error.message ?? String(error) });
  }
};

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
