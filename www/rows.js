// The RNN's view of a drawing: it reads the digit one row of pixels at a time, top to bottom,
// and has an answer after every row. One canvas keeps the rows lined up: the 28×28 input on the
// left, on the right a heat map with a row per row read and a column per class (row r: the ten
// probabilities after reading rows 1 to r), and a dashed line at the row from which the final
// answer keeps the lead (Rust's `settled_at`).
import { css, sizeCanvas, warm } from './heatmaps.js';
import { grayImage } from './figures.js';

const $ = (id) => document.getElementById(id);
const SIDE = 140;     // CSS pixels of the input, and of the heat map's height
const COLUMN = 12;    // CSS pixels of a class's column
const HEAD = 14;      // the classes' digits above the heat map
const GAP = 10;       // between the input and the heat map
const canvas = $('rows');
const input = Object.assign(document.createElement('canvas'), { width: 28, height: 28 });

const percent = (p) => `${(p * 100).toFixed(0)}%`;
$('rows-key').style.background = `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((t) => css(warm(t))).join(', ')})`;
const best = (probabilities) => probabilities.indexOf(Math.max(...probabilities));

/** A prediction (its `input`, the CNN's `probabilities` and the RNN's `network.rows`); null clears the view. */
export function showRows(prediction) {
  const rows = prediction?.network?.rows;
  const left = SIDE + GAP, width = left + 10 * COLUMN, height = HEAD + SIDE;
  const ctx = sizeCanvas(canvas, width, height);
  const answer = rows ? best(rows.beliefs[rows.beliefs.length - 1]) : -1;
  ctx.textAlign = 'center';
  for (let d = 0; d < 10; d++) {
    ctx.font = `${d === answer ? 'bold ' : ''}10px system-ui, sans-serif`;
    ctx.fillStyle = d === answer ? '#1d2330' : '#5b6475';
    ctx.fillText(String(d), left + (d + 0.5) * COLUMN, HEAD - 3);
  }
  ctx.fillStyle = '#000';
  ctx.fillRect(0, HEAD, SIDE, SIDE);
  ctx.strokeStyle = '#d9dde5';
  ctx.strokeRect(left + 0.5, HEAD + 0.5, 10 * COLUMN - 1, SIDE - 1);
  if (!rows) {
    $('rows-answer').textContent = 'Draw a digit above to see the RNN read it.';
    return;
  }
  input.getContext('2d').putImageData(grayImage(prediction.input), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(input, 0, HEAD, SIDE, SIDE);
  const { beliefs, settled_at: settled } = rows;
  const row = SIDE / beliefs.length;
  beliefs.forEach((probabilities, r) => probabilities.forEach((p, d) => {
    ctx.fillStyle = css(warm(p));
    ctx.fillRect(left + d * COLUMN, HEAD + r * row, COLUMN, row + 0.5);
  }));
  ctx.strokeStyle = '#1d2330';
  ctx.lineWidth = 1;
  ctx.strokeRect(left + answer * COLUMN + 0.5, HEAD + 0.5, COLUMN - 1, SIDE - 1);
  // The final answer leads from row `settled` on: the line runs over both, above that row.
  ctx.strokeStyle = '#1c7ed6';
  ctx.lineWidth = 2;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(0, HEAD + settled * row);
  ctx.lineTo(width, HEAD + settled * row);
  ctx.stroke();
  ctx.setLineDash([]);
  const cnn = best(prediction.probabilities);
  $('rows-answer').textContent = `RNN: ${answer} (${percent(beliefs[beliefs.length - 1][answer])}, settled after row `
    + `${settled + 1} of ${beliefs.length}) · CNN: ${cnn} (${percent(prediction.probabilities[cnn])})`;
}
