// The autoencoder's code map, when its code is 2 numbers: every test digit a point at its code,
// coloured by class (the embedding map's colours), the drawing's code as a black diamond. Every
// point of the plane is a code: a click decodes the one under the pointer in the prediction
// worker (`decode`) and shows the digit it stands for, a cross marking the place. The worker
// computes the codes in parts; the map is redrawn for a loaded file and after each epoch.
import { CLASS_COLOURS, classLegend, labelAxes, paintDigit, short } from './heatmaps.js';

const $ = (id) => document.getElementById(id);
const MARGIN = 12;      // CSS pixels between the frame and the outermost points
const MAX_SIDE = 340;   // the map is square, at most this wide

let map = null;         // {points [x0, y0, x1, y1, …], labels, bounds}
let you = null;         // the drawing's code, [x, y]
let picked = null;      // the code last clicked, [x, y]
let side = 0;           // the canvas's side in CSS pixels
let post = null;        // to the prediction worker
let decoding = 0;       // the latest decode asked: older answers are dropped
const canvas = $('codemap');
const scatter = document.createElement('canvas');   // the points, drawn once per map and size

/** `page`: {post(message)} to the prediction worker. */
export function startCodeMap(page) {
  post = page.post;
}

/** A `codes` message's map; `whose` says whose weights, in words. */
export function showCodes({ points, labels, ms }, whose) {
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]); x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]); y1 = Math.max(y1, points[i + 1]);
  }
  map = { points, labels, bounds: { x0, x1: x1 > x0 ? x1 : x0 + 1, y0, y1: y1 > y0 ? y1 : y0 + 1 } };
  $('codemap-caption').textContent = `${whose[0].toUpperCase()}${whose.slice(1)}: the ${labels.length.toLocaleString('en')}`
    + ` test digits by their codes, ${labels.length.toLocaleString('en')} forward passes of the encoder in ${(ms / 1000).toFixed(1)} s.`;
  render();
}

/** The drawing's code (a prediction's), or null. */
export function showCode(code) {
  you = code?.length === 2 ? Array.from(code) : null;
  draw();
}

/** The worker's `decoded` answer: the digit a clicked code stands for. */
export function showDecoded({ id, code, pixels }) {
  if (id !== decoding) return;
  paintDigit($('decoded-digit'), pixels, 3);
  $('decoded-caption').textContent = `the code (${code.map(short).join(', ')}) drawn`;
  $('decoded').hidden = false;
}

/** No map (another network, or a new file's map on its way). */
export function clearCodes() {
  map = null;
  picked = null;
  $('decoded').hidden = true;
  $('codemap-caption').textContent = 'The map is drawn once the test digits are encoded: for a run, after each epoch.';
  render();
}

// A code's place on the canvas, in CSS pixels, and back.
function place(x, y) {
  const { x0, x1, y0, y1 } = map.bounds;
  return [MARGIN + (x - x0) / (x1 - x0) * (side - 2 * MARGIN), side - MARGIN - (y - y0) / (y1 - y0) * (side - 2 * MARGIN)];
}
function codeAt(px, py) {
  const { x0, x1, y0, y1 } = map.bounds;
  return [x0 + (px - MARGIN) / (side - 2 * MARGIN) * (x1 - x0), y0 + (side - MARGIN - py) / (side - 2 * MARGIN) * (y1 - y0)];
}

// The scatter at the canvas's current size.
function render() {
  side = Math.min($('codemap-view').clientWidth, MAX_SIDE);
  const dpr = window.devicePixelRatio || 1;
  for (const c of [canvas, scatter]) c.width = c.height = Math.round(side * dpr);
  canvas.style.width = canvas.style.height = `${side}px`;
  if (!map || !side) { draw(); return; }
  const ctx = scatter.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, side, side);
  const { points, labels } = map;
  for (let i = 0; i < labels.length; i++) {
    const [x, y] = place(points[2 * i], points[2 * i + 1]);
    ctx.fillStyle = CLASS_COLOURS[labels[i]];
    ctx.fillRect(x - 1, y - 1, 2, 2);
  }
  labelAxes(ctx, side, side, 'code');
  draw();
}

// The scatter, the clicked code's cross and the drawing's diamond (kept inside the frame).
function draw() {
  const ctx = canvas.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!map || !side) return;
  ctx.drawImage(scatter, 0, 0);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const inside = ([x, y]) => [Math.max(8, Math.min(side - 8, x)), Math.max(8, Math.min(side - 8, y))];
  if (picked) {
    const [x, y] = inside(place(...picked));
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6); ctx.moveTo(x + 6, y - 6); ctx.lineTo(x - 6, y + 6);
    ctx.stroke();
  }
  if (you) {
    const [x, y] = inside(place(...you));
    ctx.beginPath();
    ctx.moveTo(x, y - 9); ctx.lineTo(x + 7, y); ctx.lineTo(x, y + 9); ctx.lineTo(x - 7, y); ctx.closePath();
    ctx.fillStyle = '#111';
    ctx.fill();
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}

canvas.addEventListener('click', (event) => {
  if (!map || !post) return;
  const box = canvas.getBoundingClientRect();
  picked = codeAt(event.clientX - box.left, event.clientY - box.top);
  draw();
  post({ type: 'decode', id: ++decoding, code: picked });
});

let lastWidth = 0;
new ResizeObserver(() => {
  const width = $('codemap-view').clientWidth;
  if (width !== lastWidth) { lastWidth = width; render(); }
}).observe($('codemap-view'));

$('codemap-legend').replaceChildren(...classLegend(),
  Object.assign(document.createElement('span'), { innerHTML: '<i class="you"></i>your drawing' }),
  Object.assign(document.createElement('span'), { textContent: '× the code clicked' }));
