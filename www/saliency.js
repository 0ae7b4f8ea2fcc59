// Why this answer: the saliency map of a class over the drawn digit (the gradient of the class's
// score with respect to each pixel, from each prediction), a picker for the class it is for,
// and on request a check by two slower methods, SmoothGrad and occlusion, with how well they agree.
import { describeCost, paintOverDigit, short } from './heatmaps.js';

const $ = (id) => document.getElementById(id);

let hooks = null;     // {predict(): asks again for the drawing, post(message): to the prediction worker}
let chosen = null;    // the class picked, or null: the model's answer
let shown = null;     // {input, class, answer} of the map on show
let asked = null;     // the explanation asked for: {id, input, class}
let nextId = 0;

/** The class the next prediction's saliency map is for (null: the answer). */
export const chosenClass = () => chosen;

/** `page`: {predict, post, weights() → which weights answer now, in words}. */
export function startSaliency(page) {
  hooks = page;
  $('classes').replaceChildren(...Array.from({ length: 10 }, (_, d) => {
    const button = Object.assign(document.createElement('button'), { type: 'button', textContent: d, disabled: true });
    button.setAttribute('aria-pressed', 'false');
    button.onclick = () => {
      // The answer's own button goes back to following the answer as the drawing changes.
      chosen = d === shown?.answer ? null : d;
      hooks.predict();
    };
    return button;
  }));
  $('explain').onclick = () => {
    if (!shown) return;
    asked = { id: ++nextId, input: shown.input, class: shown.class, weights: hooks.weights() };
    $('explanation').hidden = true;
    $('agreement').textContent = `Computing SmoothGrad and occlusion for ${shown.class}…`;
    hooks.post({ type: 'explain', id: asked.id, input: shown.input.slice(), class: shown.class });
  };
  showSaliency(null);
}

const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The saliency map of a prediction (`look`), or nothing (null: the pad is empty). */
export function showSaliency(prediction) {
  const buttons = [...$('classes').children];
  $('explain').disabled = !prediction;
  if (!prediction) {
    shown = null;
    chosen = null;
    buttons.forEach((b) => { b.disabled = true; b.setAttribute('aria-pressed', 'false'); b.classList.remove('answer'); });
    $('saliency').getContext('2d').clearRect(0, 0, 28, 28);
    $('saliency-caption').textContent = 'Draw a digit above.';
    $('saliency-method').textContent = '';
    hideExplanation();
    return;
  }
  const { input, probabilities, look } = prediction;
  const answer = probabilities.indexOf(Math.max(...probabilities));
  shown = { input, class: look.class, answer };
  buttons.forEach((b, d) => {
    b.disabled = false;
    b.setAttribute('aria-pressed', String(d === look.class));
    b.classList.toggle('answer', d === answer);
    b.title = d === answer ? `${d}: the answer` : `what would make it a ${d}?`;
  });
  const max = paintOverDigit($('saliency'), input, look.saliency, 5);
  $('saliency-caption').textContent = (look.class === answer
    ? `Saliency of ${look.class}, the answer`
    : `What would make it a ${look.class} (the answer is ${answer})`)
    + `: red where more ink raises ${look.class}'s score, blue where ink lowers it (largest ${short(max)} per pixel).`;
  $('saliency-method').textContent = `The ${look.method}. Cost: ${describeCost(look.saliency_cost)}.`;
  // An explanation of another drawing or class no longer applies.
  if (asked && (asked.class !== look.class || !same(asked.input, input))) hideExplanation();
}

function hideExplanation() {
  asked = null;
  $('explanation').hidden = true;
  $('agreement').textContent = '';
}

/** The prediction worker's `explanation`: SmoothGrad and occlusion side by side. */
export function showExplanation({ id, explanation: e, ms }) {
  if (!asked || id !== asked.id) return;   // for a drawing no longer shown
  const sg = paintOverDigit($('smoothgrad'), asked.input, e.saliency, 4);
  const drop = paintOverDigit($('occlusion'), asked.input, e.occlusion, 4);
  $('smoothgrad-caption').textContent = `SmoothGrad of ${e.class} (largest ${short(sg)}): ${describeCost(e.saliency_cost)}`;
  $('occlusion-caption').textContent = `Occlusion: ${e.class}'s probability drop when a grey 7×7 square covers`
    + ` each pixel (largest ${short(drop)}): ${describeCost(e.occlusion_cost)}`;
  $('agreement').textContent = `agreement r = ${e.agreement.toFixed(2)}: the correlation of |SmoothGrad| with the`
    + ` occlusion drop over the 784 pixels (near 0 would say the gradient maps are noise). ${e.description};`
    + ` ${ms.toFixed(0)} ms with ${asked.weights}.`;
  $('explanation').hidden = false;
}

/** The worker could not explain (say, a class out of range). */
export function explainFailed(message) {
  $('agreement').textContent = `The check failed: ${message}`;
}
