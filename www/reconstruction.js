// The autoencoder's view of a drawing: the drawing as it takes it (the same 28×28 input the CNN
// reads) and what it draws back from its code alone, side by side.
import { paintDigit, short } from './heatmaps.js';

const $ = (id) => document.getElementById(id);
const SCALE = 4;   // CSS pixels a pixel
const CODE_SHOWN = 4;   // a code this short is written out in the caption

/** A prediction's input and the autoencoder's `network` {reconstruction, code}; null clears the view. */
export function showReconstruction(prediction) {
  const look = prediction?.network;
  const blank = new Uint8Array(784);
  paintDigit($('ae-input'), look ? prediction.input : blank, SCALE);
  paintDigit($('ae-output'), look?.reconstruction ?? blank, SCALE);
  if (!look) {
    $('ae-output-caption').textContent = 'its reconstruction (draw a digit above)';
    return;
  }
  const code = Array.from(look.code);
  $('ae-output-caption').textContent = `drawn back from a code of ${code.length} numbers`
    + (code.length <= CODE_SHOWN ? `: (${code.map(short).join(', ')})` : '');
}
