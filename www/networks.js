// The network a weights file holds, read from its header (Rust's WeightsHeader): the CNN's
// files name none; an RNN's or an autoencoder's carry `network` with its sizes. Shared by the
// page and the prediction worker, so nothing here touches the DOM.

/** 'cnn', 'rnn' or 'autoencoder': the network a weights header describes. */
export function networkKind(header) {
  // Rust tags the network's sizes with its kind (serde's tag).
  return header?.network?.kind ?? 'cnn';
}

/** The network of a header in a few words: "an RNN (LSTM, 128 units)", "an autoencoder (code of 2 numbers)". */
export function describeNetwork(header) {
  const sizes = header?.network;
  switch (networkKind(header)) {
    case 'rnn': return `an RNN (${sizes.cell.toUpperCase()}, ${sizes.units} units)`;
    case 'autoencoder': return `an autoencoder (code of ${sizes.bottleneck} numbers${sizes.noise > 0 ? `, denoising σ ${sizes.noise}` : ''})`;
    default: return 'a CNN';
  }
}

/** Whether an autoencoder's code is 2 numbers: then every code is a point of a plane, a map. */
export const hasCodeMap = (header) => networkKind(header) === 'autoencoder' && header.network.bottleneck === 2;
