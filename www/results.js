// The results after an epoch: the first 100 test digits with the model's answers, the confusion
// matrix as a heat-map, the most confident mistakes, and their CSV/JSON export; for an
// autoencoder, which has no answers, the first test digits above their reconstructions.
import { digitFigure, download, grayImage } from './figures.js';

const $ = (id) => document.getElementById(id);

// The first test digits (`images`: 784 bytes each, as the training worker's `started` sent them).
export function drawGrid(predictions, images, labels) {
  $('grid').replaceChildren(...predictions.map((predicted, i) => digitFigure(
    images.subarray(i * 784, (i + 1) * 784), labels[i], predicted,
    `label ${labels[i]}, predicted ${predicted}`)));
}

// An autoencoder's evaluation: each of the first test digits (`images`, as `started` sent them)
// above its reconstruction (`reconstructions`: 784 bytes each, concatenated).
export function drawReconstructions(images, reconstructions) {
  const digit = (pixels) => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 28, height: 28 });
    canvas.getContext('2d').putImageData(grayImage(pixels), 0, 0);
    return canvas;
  };
  $('grid').replaceChildren(...Array.from({ length: reconstructions.length / 784 }, (_, i) => {
    const figure = Object.assign(document.createElement('figure'), { className: 'reconstructed',
      title: `test image ${i}: the original above, the autoencoder's reconstruction below` });
    figure.append(digit(images.subarray(i * 784, (i + 1) * 784)), digit(reconstructions.subarray(i * 784, (i + 1) * 784)));
    return figure;
  }));
  $('views').hidden = true;   // no answers: no confusion matrix, no mistakes
  $('export-csv').disabled = $('export-json').disabled = true;
}

// The evaluation views after an epoch: the confusion matrix as a heat-map (each cell shaded by
// its share of the row, mistakes red, right answers green) and the most confident mistakes.
let lastEvaluation = null;
export function drawViews(evaluation) {
  lastEvaluation = evaluation;
  const { confusion, per_class_accuracy: accuracy, most_confident_mistakes: mistakes } = evaluation.report;
  const cell = (tag, text, title) => Object.assign(document.createElement(tag), { textContent: text, title: title ?? '' });
  const header = document.createElement('tr');
  header.append(cell('th', 'true╲read'), ...confusion.map((_, c) => cell('th', c)), cell('th', 'right'));
  const rows = confusion.map((row, label) => {
    const tr = document.createElement('tr');
    const total = row.reduce((a, b) => a + b, 0) || 1;
    tr.append(cell('th', label), ...row.map((n, predicted) => {
      const td = cell('td', n || '', `${n} images of ${label} read as ${predicted}`);
      const share = n / total;
      td.style.background = label === predicted ? `rgba(43,138,62,${share})`
        : `rgba(224,49,49,${Math.min(1, share * 8)})`;   // mistakes are rare: shade them 8× stronger
      if (share > 0.5) td.style.color = '#fff';
      return td;
    }), cell('th', `${(accuracy[label] * 100).toFixed(1)}%`));
    return tr;
  });
  $('confusion').replaceChildren(header, ...rows);
  $('mistakes').replaceChildren(...mistakes.map((m, i) => digitFigure(
    evaluation.mistake_images[i], m.label, m.predicted,
    `test image ${m.index}: a ${m.label} read as ${m.predicted} with probability ${(m.confidence * 100).toFixed(1)}%`)));
  $('views').hidden = false;
  $('export-csv').disabled = $('export-json').disabled = false;
}
$('export-csv').onclick = () => download(lastEvaluation.confusion_csv, 'text/csv', 'kindling-confusion.csv');
$('export-json').onclick = () => download(JSON.stringify(lastEvaluation.report, null, 1), 'application/json',
                                          'kindling-evaluation.json');

// No results shown (the page's Reset).
export function clearResults() {
  $('grid').replaceChildren();
  $('views').hidden = true;
  $('export-csv').disabled = $('export-json').disabled = true;
}
