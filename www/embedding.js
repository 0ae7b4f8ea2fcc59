// The embedding map: the first 2,000 test images placed by their 64 dense units, projected on
// the two directions those vary most along (PCA, computed in the prediction worker), one colour
// per true class, misread ones ringed, the drawn digit as a moving diamond. Hovering a point
// shows that test digit. Redrawn for the shipped weights, a loaded file and after each epoch.
import { CLASS_COLOURS, classLegend, describeCost, labelAxes, paintDigit } from './heatmaps.js';

const $ = (id) => document.getElementById(id);
const MARGIN = 14;      // CSS pixels between the frame and the outermost points
const HOVER_PX = 10;    // how near the pointer must be to a point to show its digit

let map = null;         // the last `embedding` map, with its bounds
let images = null;      // the test images' pixels, 784 bytes each (`test-images`)
let you = null;         // the drawn digit's place, [x, y]
let hovered = -1;
let screen = null;      // each point's place on the canvas, CSS pixels: [x0, y0, x1, y1, …]
let size = { width: 0, height: 0 };
const scatter = document.createElement('canvas');   // the points, drawn once per map and size
const canvas = $('embedding');

export function setTestImages({ pixels }) { images = pixels; }

/** Draws an `embedding` message's map; `weights` says whose, in words. */
export function showEmbedding({ map: next, ms }, weights) {
  const { points } = next;
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 2) {
    x0 = Math.min(x0, points[i]); x1 = Math.max(x1, points[i]);
    y0 = Math.min(y0, points[i + 1]); y1 = Math.max(y1, points[i + 1]);
  }
  map = { ...next, bounds: { x0, x1: x1 > x0 ? x1 : x0 + 1, y0, y1: y1 > y0 ? y1 : y0 + 1 } };
  const count = next.labels.length;
  const wrong = next.labels.filter((label, i) => label !== next.predicted[i]).length;
  const [a, b] = next.explained.map((share) => `${(share * 100).toFixed(0)}%`);
  $('embedding-caption').textContent = `${weights[0].toUpperCase()}${weights.slice(1)}: the first ${count.toLocaleString('en')}`
    + ` test images by their dense layer's units, projected on its two main directions, which explain ${a} and ${b}`
    + ` of its variance. ${wrong} of them are misread (ringed). Cost: ${describeCost(next.cost)}, ${(ms / 1000).toFixed(1)} s.`;
  hovered = -1;
  $('embedding-tip').hidden = true;
  render();
}

/** The drawn digit's place (a prediction's `look.point`), or none. */
export function showPoint(point) {
  you = point;
  draw();
}

// A point's place on the canvas, in CSS pixels.
function place(x, y) {
  const { x0, x1, y0, y1 } = map.bounds;
  return [MARGIN + (x - x0) / (x1 - x0) * (size.width - 2 * MARGIN),
          size.height - MARGIN - (y - y0) / (y1 - y0) * (size.height - 2 * MARGIN)];
}

// The scatter at the canvas's current size: right answers first, misread ones ringed on top.
function render() {
  const width = Math.min(canvas.parentElement.clientWidth, 520);
  size = { width, height: Math.round(width * 0.8) };
  const dpr = window.devicePixelRatio || 1;
  for (const c of [canvas, scatter]) {
    c.width = Math.round(size.width * dpr);
    c.height = Math.round(size.height * dpr);
  }
  canvas.style.width = `${size.width}px`;
  canvas.style.height = `${size.height}px`;
  if (!map || !size.width) return;   // nothing to draw, or no room yet (not laid out)
  const ctx = scatter.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, size.width, size.height);
  // The map's centre (the mean of the hidden layer): 0 on both axes.
  const [cx, cy] = place(0, 0);
  ctx.strokeStyle = '#dee2e6';
  ctx.setLineDash([4, 4]);
  ctx.beginPath();
  ctx.moveTo(cx, 0); ctx.lineTo(cx, size.height); ctx.moveTo(0, cy); ctx.lineTo(size.width, cy);
  ctx.stroke();
  ctx.setLineDash([]);
  const { points, labels, predicted } = map;
  screen = new Float32Array(points.length);
  for (let i = 0; i < labels.length; i++) [screen[2 * i], screen[2 * i + 1]] = place(points[2 * i], points[2 * i + 1]);
  const order = [...labels.keys()].sort((a, b) => (labels[a] !== predicted[a]) - (labels[b] !== predicted[b]));
  for (const i of order) {
    const [x, y] = [screen[2 * i], screen[2 * i + 1]];
    ctx.fillStyle = CLASS_COLOURS[labels[i]];
    ctx.beginPath();
    ctx.arc(x, y, 2.2, 0, 2 * Math.PI);
    ctx.fill();
    if (labels[i] !== predicted[i]) {
      ctx.strokeStyle = 'rgba(17, 17, 17, 0.7)';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(x, y, 4, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
  labelAxes(ctx, size.width, size.height, 'axis');
  draw();
}

// The scatter, the hovered point's ring and the drawn digit's diamond (kept inside the frame).
function draw() {
  const ctx = canvas.getContext('2d');
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!map || !scatter.width) return;
  ctx.drawImage(scatter, 0, 0);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (hovered >= 0) {
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(screen[2 * hovered], screen[2 * hovered + 1], 7, 0, 2 * Math.PI);
    ctx.stroke();
  }
  if (you) {
    let [x, y] = place(you[0], you[1]);
    x = Math.max(8, Math.min(size.width - 8, x));
    y = Math.max(8, Math.min(size.height - 8, y));
    ctx.beginPath();
    ctx.moveTo(x, y - 9); ctx.lineTo(x + 7, y); ctx.lineTo(x, y + 9); ctx.lineTo(x - 7, y); ctx.closePath();
    ctx.fillStyle = '#111';
    ctx.fill();
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}

// The test digit nearest the pointer, with its label and the model's answer.
canvas.addEventListener('pointermove', (event) => {
  if (!map || !screen) return;
  const box = canvas.getBoundingClientRect();
  const [px, py] = [event.clientX - box.left, event.clientY - box.top];
  let best = -1, bestDistance = HOVER_PX ** 2;
  for (let i = 0; i < screen.length / 2; i++) {
    const d = (screen[2 * i] - px) ** 2 + (screen[2 * i + 1] - py) ** 2;
    if (d < bestDistance) { best = i; bestDistance = d; }
  }
  if (best === hovered) return;
  hovered = best;
  draw();
  const tip = $('embedding-tip');
  tip.hidden = best < 0;
  if (best < 0) return;
  const [label, read] = [map.labels[best], map.predicted[best]];
  if (images && images.length >= (best + 1) * 784) paintDigit($('embedding-digit'), images.subarray(best * 784, (best + 1) * 784), 2);
  $('embedding-tip-caption').textContent = label === read ? `a ${label}, read as ${read}` : `a ${label}, misread as ${read}`;
  tip.classList.toggle('wrong', label !== read);
  // Beside the point, inside the map.
  const left = screen[2 * best] + 12 + 90 > size.width ? screen[2 * best] - 12 - 90 : screen[2 * best] + 12;
  tip.style.left = `${Math.max(0, left)}px`;
  tip.style.top = `${Math.max(0, Math.min(size.height - 90, screen[2 * best + 1] - 40))}px`;
});
canvas.addEventListener('pointerleave', () => {
  hovered = -1;
  $('embedding-tip').hidden = true;
  draw();
});

let lastWidth = 0;
new ResizeObserver(() => {
  const width = canvas.parentElement.clientWidth;
  if (width !== lastWidth) { lastWidth = width; render(); }
}).observe(canvas.parentElement);

$('embedding-legend').replaceChildren(...classLegend(), Object.assign(document.createElement('span'), { innerHTML: '<i class="ring"></i>misread' }),
    Object.assign(document.createElement('span'), { innerHTML: '<i class="you"></i>your drawing' }));
