// Colour scales for the views inside the network, and small pixel images painted from arrays of
// floats: one diverging scale for signed values (weights, saliency: negative blue, 0 neutral,
// positive red-orange) and one sequential scale for activations (0 dark, the layer's largest
// bright). Each picture is drawn at its true size and scaled up by CSS (image-rendering: pixelated).

const NEUTRAL = [247, 247, 247];
const NEGATIVE = [24, 100, 171];
const POSITIVE = [217, 72, 15];
// An "inferno"-like ramp, dark to bright.
const RAMP = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];
const WARM = [[255, 255, 255], [255, 216, 168], [232, 89, 12], [127, 39, 4]];

/** The largest |value|, or 1 when all are 0 (so a blank picture stays blank, not NaN). */
export function maxAbs(values) {
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max || 1;
}

/** `t` in [−1, 1] → [r, g, b]: blue below 0, neutral at 0, red-orange above. */
export function diverging(t) {
  const [end, s] = t < 0 ? [NEGATIVE, Math.min(1, -t)] : [POSITIVE, Math.min(1, t)];
  return NEUTRAL.map((n, i) => Math.round(n + (end[i] - n) * s));
}

// `t` in [0, 1] along a ramp of colour stops, linearly between them.
function along(stops, t) {
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  return stops[i].map((a, c) => Math.round(a + (stops[i + 1][c] - a) * (x - i)));
}

/** `t` in [0, 1] → [r, g, b], dark to bright (activations). */
export const sequential = (t) => along(RAMP, t);

/** `t` in [0, 1] → [r, g, b], white to dark red-brown: a density on a white page. */
export const warm = (t) => along(WARM, t);

/** One colour per class for the maps of test digits (Tableau 10, its grey swapped for indigo). */
export const CLASS_COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
                              '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#5d5fc4'];

/** The legend of CLASS_COLOURS: a dot and its digit each. */
export const classLegend = () => CLASS_COLOURS.map((colour, d) => {
  const item = document.createElement('span');
  item.innerHTML = `<i style="background:${colour}"></i>${d}`;
  return item;
});

/** A CSS colour for the legend of a scale: `rgb(…)` of `colour(t)`. */
/** Sizes `canvas` to `width` × `height` CSS pixels, sharp on any screen: its context, drawing in
 * CSS pixels. */
export function sizeCanvas(canvas, width, height) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Names a map's two axes, `${name} 1 →` along the bottom and `${name} 2 →` up the left side,
 * inside a `width` × `height` plot. */
export function labelAxes(ctx, width, height, name) {
  const label = (n) => `${name} ${n} →`;
  ctx.fillStyle = '#5b6475';
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillText(label(1), width - ctx.measureText(label(1)).width - 4, height - 3);
  ctx.save();
  ctx.translate(10, ctx.measureText(label(2)).width + 4);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(label(2), 0, 0);
  ctx.restore();
}

export const css = ([r, g, b]) => `rgb(${r},${g},${b})`;

/**
 * Paints `count` tiles of `width`×`height` values (tile k is values[k·w·h …], row by row) into a
 * grid `columns` wide with 1-pixel gaps, each value coloured by `colour(value)`. The canvas
 * takes the grid's size and `scale` CSS pixels a value. Returns where the tiles lie, for clicks.
 */
export function paintTiles(canvas, values, { count, width, height = width, columns, colour, scale }) {
  const rows = Math.ceil(count / columns);
  const W = columns * (width + 1) - 1, H = rows * (height + 1) - 1;
  canvas.width = W;
  canvas.height = H;
  canvas.style.width = `${W * scale}px`;
  const image = new ImageData(W, H);
  image.data.fill(255);   // the gaps, and the last row's missing tiles, stay white
  for (let k = 0; k < count; k++) {
    const left = (k % columns) * (width + 1), top = Math.floor(k / columns) * (height + 1);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const [r, g, b] = colour(values[k * width * height + y * width + x]);
        const p = ((top + y) * W + left + x) * 4;
        image.data[p] = r; image.data[p + 1] = g; image.data[p + 2] = b;
      }
    }
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
  return { count, width, height, columns, W, H };
}

/** The tile under a click on a canvas painted by paintTiles, or −1 (a gap or nothing). */
export function tileAt(event, canvas, tiles) {
  const box = canvas.getBoundingClientRect();
  const x = Math.floor((event.clientX - box.left) / box.width * tiles.W);
  const y = Math.floor((event.clientY - box.top) / box.height * tiles.H);
  const column = Math.min(tiles.columns - 1, Math.floor(x / (tiles.width + 1)));
  const row = Math.floor(y / (tiles.height + 1));
  const k = row * tiles.columns + column;
  return k >= 0 && k < tiles.count ? k : -1;
}

/**
 * A signed 28×28 map (saliency, occlusion) over the grey digit it explains: each pixel blends
 * the digit's grey (ink mid-grey on white) with blue or red-orange in proportion to |value|.
 * Returns the scale used (the largest |value|).
 */
export function paintOverDigit(canvas, digit, values, scale = 5) {
  const max = maxAbs(values);
  canvas.width = canvas.height = 28;
  canvas.style.width = `${28 * scale}px`;
  const image = new ImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    const grey = 255 - 0.55 * digit[p];
    const t = values[p] / max;
    const a = Math.min(1, Math.abs(t)) ** 0.7;
    const colour = t < 0 ? NEGATIVE : POSITIVE;
    image.data.set([0, 1, 2].map((c) => Math.round(grey * (1 - a) + colour[c] * a)).concat(255), p * 4);
  }
  canvas.getContext('2d').putImageData(image, 0, 0);
  return max;
}

/** A 28×28 grey digit (ink bright on black, as the model sees it). */
export function paintDigit(canvas, digit, scale = 2) {
  canvas.width = canvas.height = 28;
  canvas.style.width = `${28 * scale}px`;
  const image = new ImageData(28, 28);
  digit.forEach((v, p) => image.data.set([v, v, v, 255], p * 4));
  canvas.getContext('2d').putImageData(image, 0, 0);
}

/** A few digits of a number: 0.80, 3.2e-4. */
export const short = (v) => (v !== 0 && (Math.abs(v) < 0.01 || Math.abs(v) >= 1000) ? v.toExponential(1) : v.toPrecision(2));

/** What a view costs, as Rust's ViewCost says it: "1 forward pass", "16 forward + 16 backward passes". */
export function describeCost({ forward_passes: f, backward_passes: b }) {
  const plural = (n) => (n === 1 ? '' : 'es');
  return b === 0 ? `${f.toLocaleString('en')} forward pass${plural(f)}` : `${f} forward + ${b} backward pass${plural(b)}`;
}
