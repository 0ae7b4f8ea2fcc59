// "What this network sees": the views of a network other than the CNN that the prediction
// worker holds beside it, a run's (an RNN or an autoencoder being trained) or a loaded file's.
// The RNN's answer row by row (rows.js); the autoencoder's reconstruction of the drawing
// (reconstruction.js) and, with a 2-number code, the test set's code map (codemap.js). The panel
// shows only while there is such a network; the CNN keeps answering in the bars and in
// "Inside the network".
import { showRows } from './rows.js';
import { showReconstruction } from './reconstruction.js';
import { clearCodes, showCode, showCodes, showDecoded, startCodeMap } from './codemap.js';
import { describeNetwork, hasCodeMap, networkKind } from './networks.js';

const $ = (id) => document.getElementById(id);
let header = null;   // the network's weights header, or null: none
let epoch = null;    // the run's epoch its weights are from; null for a loaded file

/** `page`: {post(message)} to the prediction worker. */
export function startNetworkView(page) {
  startCodeMap(page);
}

/** The prediction worker's `network` message: the network beside the CNN now (a null header: none). */
export function setNetwork(message) {
  const kind = networkKind(message.header);
  // A loaded file, or another network, brings its own map: the last one's goes.
  if (!message.header || message.epoch == null || kind !== networkKind(header)) clearCodes();
  ({ header, epoch } = message);
  $('network-view').hidden = !header;
  if (!header) return;
  const weights = epoch == null ? 'the loaded weights' : `the run's weights in epoch ${epoch}`;
  $('network-source').textContent = `${describeNetwork(header)[0].toUpperCase()}${describeNetwork(header).slice(1)},`
    + ` ${weights}. The CNN keeps answering your drawings in the bars above.`;
  $('rows-view').hidden = kind !== 'rnn';
  $('autoencoder-view').hidden = kind !== 'autoencoder';
  $('codemap-view').hidden = !hasCodeMap(header);
  $('codemap-none').textContent = kind !== 'autoencoder' || hasCodeMap(header) ? ''
    : `This code has ${header.network.bottleneck} numbers. A code of 2 numbers is a point on a plane: train with a`
      + ' code size of 2 to map every test digit by its code and decode any point of it.';
}

/** A prediction (or null: no drawing): this network's view of it. */
export function showNetworkLook(prediction) {
  if (!header) return;
  const look = prediction?.network?.kind === networkKind(header) ? prediction : null;
  if (networkKind(header) === 'rnn') {
    showRows(look);
  } else {
    showReconstruction(look);
    showCode(look?.network.code ?? null);
  }
}

/** The prediction worker's messages for this panel: `codes` and `decoded`. */
export function onNetworkMessage(data) {
  if (data.type === 'codes') {
    showCodes(data, data.epoch == null ? 'the loaded autoencoder' : `the run's autoencoder after epoch ${data.epoch}`);
  } else if (data.type === 'decoded') {
    showDecoded(data);
  }
}
