// The "Inside the network" panel: what the model reading drawings computes, and how a run
// changes it. The prediction worker computes every view (see its messages in README.md); this
// module hands each message to its view and says whose weights each view shows. The views:
// activations.js (each layer's output for the drawing), saliency.js (why this answer),
// embedding.js (the test set's map), filters.js, histograms.js and health.js (training health).
import { setKernels, showActivations } from './activations.js';
import { chosenClass, explainFailed, showExplanation, showSaliency, startSaliency } from './saliency.js';
import { setTestImages, showEmbedding, showPoint } from './embedding.js';
import { showFilters } from './filters.js';
import { addHistograms, resetHistograms } from './histograms.js';
import { addHealth, resetHealth, showHealthNote } from './health.js';

export { addHealth, chosenClass, explainFailed };

// Whose weights answer when no run's do: {words: 'the shipped weights', row: 'shipped'}.
let source = { words: 'the shipped weights', row: 'shipped' };
let current = source.words;   // whose weights the views show now, in words

/** `page`: {predict() (asks again for the drawing, with the class picked), post(message) (to the prediction worker)}. */
export function startInside(page) {
  startSaliency({ ...page, weights: () => current });
}

/** The shipped weights answer from now on (`ready`), or a loaded file's (`loaded`). */
export function setWeightsSource(loaded) {
  source = loaded ? { words: 'the loaded weights', row: 'loaded' } : { words: 'the shipped weights', row: 'shipped' };
  current = source.words;
}

/** A prediction's views (its `look`): the activations, the saliency map, its place on the map; null clears them. */
export function showLook(prediction) {
  showActivations(prediction);
  showSaliency(prediction);
  showPoint(prediction?.look.point ?? null);
}

/** The prediction worker's other messages for the panel. */
export function onPredictorMessage(data) {
  switch (data.type) {
    case 'weight-views': {
      current = data.epoch == null ? source.words : `the run's weights in epoch ${data.epoch}`;
      showFilters(data.filters, current);
      setKernels(data.filters);
      addHistograms(data.histograms, data.epoch == null ? source.row : `epoch ${data.epoch}`);
      break;
    }
    case 'embedding':
      showEmbedding(data, data.epoch == null ? source.words : `the run's weights after epoch ${data.epoch}`);
      break;
    case 'test-images': setTestImages(data); break;
    case 'ready': showHealthNote(data.healthNote); break;
    case 'explanation': showExplanation(data); break;
  }
}

/** A new run (or the page's Reset): no health measured, no weight histograms kept. */
export function newRun() {
  resetHealth();
  resetHistograms();
}
