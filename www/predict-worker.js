// The prediction worker: a CPU model that answers drawings at once, even while a training step
// runs in the other worker. It starts with the shipped weights; the trainer's weights replace
// them as training goes.
import init, { Predictor, prepareImage } from './pkg/cpu/kindling.js';

let predictor = null;
const post = (message) => self.postMessage(message);

self.onmessage = ({ data }) => {
  try {
    switch (data.type) {
      case 'predict': {
        const input = prepareImage(data.rgba, data.width, data.height);
        const started = performance.now();
        const probabilities = predictor.predict(input);
        post({ type: 'prediction', id: data.id, input, probabilities,
               ms: performance.now() - started });
        break;
      }
      case 'weights':  // from the trainer: always a file it just wrote
        predictor.load(data.bytes);
        break;
      case 'load':     // from the user: may be anything
        post({ type: 'loaded', header: JSON.parse(predictor.load(data.bytes)) });
        break;
      case 'reset':    // back to the shipped weights
        loadShipped().catch((error) => post({ type: 'error', request: 'reset', message: error.message ?? String(error) }));
        break;
    }
  } catch (error) {
    post({ type: 'error', request: data.type, id: data.id, message: error.message ?? String(error) });
  }
};

async function loadShipped() {
  const response = await fetch('pkg/mnist-cnn.kndl');
  if (!response.ok) throw new Error(`pkg/mnist-cnn.kndl: HTTP ${response.status}`);
  predictor = new Predictor(new Uint8Array(await response.arrayBuffer()));
  post({ type: 'ready', header: JSON.parse(predictor.header()) });
}

try {
  await init();
  await loadShipped();
} catch (error) {
  post({ type: 'error', request: 'init', message: error.message ?? String(error) });
}
