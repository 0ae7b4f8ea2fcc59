// The drawing pad and its predictions: a CPU model in predict-worker.js answers drawings and
// opened images while training runs elsewhere, with the weights the page says (see below). The
// same worker computes the views of the "Inside the network" panel (inside.js), and those of an
// RNN or autoencoder it holds beside the CNN (network-view.js).
import { DrawingPad } from './pad.js';
import { grayImage } from './figures.js';
import { chosenClass, explainFailed, onPredictorMessage, setWeightsSource, showLook, startInside } from './inside.js';
import { onNetworkMessage, setNetwork, showNetworkLook, startNetworkView } from './network-view.js';
import { describeNetwork, networkKind } from './networks.js';

const $ = (id) => document.getElementById(id);
const predictor = new Worker('predict-worker.js', { type: 'module' });
const pad = new DrawingPad($('pad'), () => requestPrediction());

// ---- the weights reading drawings -----------------------------------------------------------
// The latest weights the page got: the last ones a run sent, a loaded file, or (null) the shipped
// ones. An RNN's or autoencoder's are read beside the CNN that answers drawings.
let currentWeights = null, loadingWeights = null;

/** The current weights as a distillation's teacher (a copy), fetching the shipped ones when they
 *  answer. Rust refuses a teacher that is not a CNN, with a sentence the run's error shows. */
export async function teacherWeights() {
  if (currentWeights) return currentWeights.slice();
  const response = await fetch('pkg/mnist-cnn.kndl');
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * A run's latest weights read drawings from now on: `kept` is the page's copy, `bytes` goes
 * (transferred) to the predictor, with the epoch they are from and whether it is done (the
 * predictor then maps the test set again).
 */
export function useRunWeights(kept, bytes, { epoch, epochDone }) {
  currentWeights = kept;
  predictor.postMessage({ type: 'weights', bytes, epoch, epochDone }, [bytes.buffer]);
}

/** The shipped weights read drawings again, alone (the page's Reset). */
export function useShippedWeights() {
  currentWeights = null;
  predictor.postMessage({ type: 'reset' });
}

/** A new run started: its network replaces any RNN or autoencoder shown beside the CNN. */
export function forgetNetwork() {
  predictor.postMessage({ type: 'forget' });
}

$('weights-file').onchange = async (event) => {
  const file = event.target.files[0];
  event.target.value = '';
  if (!file) return;
  $('weights-error').textContent = '';
  loadingWeights = new Uint8Array(await file.arrayBuffer());
  predictor.postMessage({ type: 'load', bytes: loadingWeights.slice() });
};

function describeWeights(what, header) {
  const accuracy = header.test_accuracy == null ? 'not measured' : `${(header.test_accuracy * 100).toFixed(2)}%`;
  if (networkKind(header) === 'cnn') return `${what}: ${header.epochs} epochs on ${header.dataset}, test accuracy ${accuracy}.`;
  const score = networkKind(header) === 'autoencoder' ? 'no test accuracy (it does not classify)' : `test accuracy ${accuracy}`;
  return `${what} of ${describeNetwork(header)}: ${header.epochs} epochs on ${header.dataset}, ${score}. `
    + 'See what it makes of your drawings under "What this network sees"; the CNN keeps answering in the bars.';
}

// ---- predictions ------------------------------------------------------------------------------
let nextId = 0, inFlight = false, pending = false, predictorReady = false;

function requestPrediction() {
  if (!predictorReady) return;
  if (inFlight) { pending = true; return; }   // at most one at a time: the latest drawing wins
  const picture = pad.pixels();
  if (!picture) { showPrediction(null); return; }
  inFlight = true;
  predictor.postMessage({ type: 'predict', id: ++nextId, ...picture, class: chosenClass() });
}

function showPrediction(data) {
  const items = $('bars').children;
  for (let d = 0; d < 10; d++) {
    const p = data ? data.probabilities[d] : 0;
    items[d].querySelector('span').style.width = `${(p * 100).toFixed(1)}%`;
    items[d].querySelector('output').textContent = data ? `${(p * 100).toFixed(1)}%` : '';
    items[d].classList.toggle('top', !!data && p === Math.max(...data.probabilities));
  }
  showLook(data);
  showNetworkLook(data);
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
startInside({ predict: () => requestPrediction(), post: (message) => predictor.postMessage(message) });
startNetworkView({ post: (message) => predictor.postMessage(message) });
showPrediction(null);

predictor.onmessage = ({ data }) => {
  switch (data.type) {
    case 'ready':
      predictorReady = true;
      setWeightsSource(false);
      $('model-info').textContent = describeWeights('Shipped weights', data.header);
      onPredictorMessage(data);   // the health view's note
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
      if (networkKind(data.header) === 'cnn') setWeightsSource(true);   // another network leaves the CNN's views as they are
      $('model-info').textContent = describeWeights('Loaded weights', data.header);
      requestPrediction();
      break;
    case 'network':   // an RNN or autoencoder beside the CNN, or none: its views follow
      setNetwork(data);
      requestPrediction();
      break;
    case 'codes': case 'decoded': onNetworkMessage(data); break;
    case 'weight-views':   // new weights: the drawing's views follow them
      onPredictorMessage(data);
      requestPrediction();
      break;
    case 'embedding': case 'test-images': case 'explanation': onPredictorMessage(data); break;
    case 'error':
      if (data.request === 'predict') {
        inFlight = false;
        $('draw-error').textContent = data.message;
        // The drawing may have changed since (a stroke's first dot is blank): ask for it too.
        if (pending) { pending = false; requestPrediction(); }
      } else if (data.request === 'explain') {
        explainFailed(data.message);
      } else if (data.request === 'decode') {
        $('draw-error').textContent = `That point could not be decoded: ${data.message}`;
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
