// The settings form: Rust's defaults and refusals beside each field, presets, the fields each
// network, optimizer and schedule use, and the preview of the training images as the settings
// augment them.
import init, { checkRun, checkSetting, settingsSchema } from './pkg/cpu/kindling.js';
import { describePrecision, efficiencySettings, showEfficiencyFields } from './cost.js';
import { digitFigure } from './figures.js';

const $ = (id) => document.getElementById(id);

// What the form needs of the page (set by startForm): `post` sends a message to the training
// worker (whichever one runs now), `dataLoaded()` says whether that worker has MNIST.
let hooks = null;

// ---- settings -------------------------------------------------------------------------------
// Every number's default, range and the sentence that refuses it come from Rust (the CPU bundle's
// `settingsSchema` and `checkSetting`): the form only shows them.
let schema = null;   // {settings: [{name, label, help, integer, default, optional, …}], optimizers, choices}
const CHECKBOXES = ['batch_norm', 'flip', 'mixup_on', 'clip_on', 'stop_on', 'patience_on', 'student', 'distill', 'compute_f16'];
const RECIPE_NOTES = {
  gd: 'Gradient descent updates the weights once per epoch, with the gradient of the whole training set: few, slow steps.',
  adamw: 'AdamW shrinks the weights by learning rate × weight decay at every step, apart from the gradient.',
};

// The form's number fields take their defaults from Rust, and each gets a place for its sentence.
function setUpForm(described) {
  schema = described;
  const form = $('settings');
  for (const setting of schema.settings) {
    const input = form.elements[setting.name];
    if (!input) continue;   // a command-line-only setting (test images, layer sizes)
    input.defaultValue = input.value = String(setting.default);
    input.step = setting.integer ? '1' : 'any';
    input.title = setting.help;
    const why = Object.assign(document.createElement('small'), { className: 'why' });
    why.dataset.for = setting.name;
    input.after(why);
  }
  for (const [name, value] of Object.entries(schema.choices)) {
    form.elements[name].value = value;
    for (const option of form.elements[name].options) option.defaultSelected = option.value === value;
  }
  showRecipeFields();
  readSettings();
}

// Whether a field belongs to the network chosen: one inside an element marked `data-networks`
// is another network's unless that lists the chosen one. Rust refuses another network's
// settings, so such a field is hidden and never sent.
function applies(input) {
  const owner = input.closest('[data-networks]');
  return !owner || owner.dataset.networks.split(' ').includes($('settings').elements.network.value);
}

// A checkbox of the chosen network, ticked.
const ticked = (input) => applies(input) && input.checked;

// The form's settings, or null with each refusal shown beside its field and above the buttons.
export function readSettings() {
  if (!schema) return null;
  const form = $('settings');
  const settings = {};
  const problems = [];
  for (const { name } of schema.settings) {
    const input = form.elements[name];
    if (!input) continue;
    const off = !applies(input) || (input.dataset.when && !ticked(form.elements[input.dataset.when]));
    const why = off ? '' : checkSetting(name, input.value);
    input.classList.toggle('invalid', why !== '');
    form.querySelector(`.why[data-for=${name}]`).textContent = why;
    if (why) problems.push(why);
    settings[name] = off ? null : Number(input.value);
  }
  for (const name of ['backend', 'optimizer', 'schedule', 'power', 'network', 'cell']) {
    settings[name] = applies(form.elements[name]) ? form.elements[name].value : null;
  }
  for (const name of CHECKBOXES) settings[name] = ticked(form.elements[name]);
  if (problems.length) {
    $('settings-error').textContent = problems.join('; ');
    return null;
  }
  const ready = efficiencySettings(form, settings);
  $('settings-error').textContent = checkRun(JSON.stringify(ready));   // what no one field shows
  return $('settings-error').textContent ? null : ready;
}

// Puts saved or preset settings in the form; mixup's α and the clipping norm are null when off.
export function fillForm(values) {
  const form = $('settings');
  for (const [name, value] of Object.entries(values)) {
    const input = form.elements[name];
    if (!input || value == null) continue;
    if (input.type === 'checkbox') input.checked = Boolean(value);
    else input.value = value;
  }
  if ('mixup' in values) form.elements.mixup_on.checked = values.mixup != null;
  if ('clip_norm' in values) form.elements.clip_on.checked = values.clip_norm != null;
  showRecipeFields();
  readSettings();
  requestPreview();
}

// A preset's settings (the training worker's answer to `preset`), from the form's defaults.
export function fillPreset(settings) {
  const name = $('settings').elements.preset.value;
  $('settings').reset();
  $('settings').elements.preset.value = name;
  fillForm(settings);
}

// Only the fields the chosen optimizer and schedule use are shown.
function showRecipeFields() {
  const { optimizer, schedule } = $('settings').elements;
  for (const label of $('recipe').querySelectorAll('[data-optimizers]')) {
    label.hidden = !label.dataset.optimizers.split(' ').includes(optimizer.value);
  }
  for (const label of $('recipe').querySelectorAll('[data-schedules]')) {
    label.hidden = !label.dataset.schedules.split(' ').includes(schedule.value);
  }
  $('recipe-note').textContent = RECIPE_NOTES[optimizer.value] ?? '';
  const { flip, mixup_on: mixup, clip_on: clip } = $('settings').elements;
  $('flip-warning').hidden = !flip.checked;
  $('augmentation').querySelector('[data-mixup]').hidden = !mixup.checked;
  $('recipe').querySelector('[data-clip]').hidden = !clip.checked;
  showEfficiencyFields($('settings'));
  // Another network's fields are out of the way whatever else would show them (style.css).
  for (const element of $('settings').querySelectorAll('[data-networks]')) {
    element.classList.toggle('other-network', !applies(element));
  }
}

// ---- augmentation preview -------------------------------------------------------------------
// The same training images, augmented as the form says, redrawn shortly after each change.
let previewSeed = 1, previewTimer = 0;
export function requestPreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => {
    const settings = readSettings();
    if (settings && hooks.dataLoaded()) hooks.post({ type: 'preview', settings, seed: previewSeed });
  }, 120);
}

export function drawPreview({ pixels, captions, blend }) {
  const shares = blend && `${Math.round(blend * 100)}% the first class and ${Math.round((1 - blend) * 100)}% the second`;
  $('preview').replaceChildren(...captions.map((caption, i) => {
    const title = caption.includes('+') ? `a blend: ${shares}` : `trained as a ${caption}`;
    const figure = digitFigure(pixels.subarray(i * 784, (i + 1) * 784), 0, 0, title);
    figure.querySelector('figcaption').textContent = caption;
    return figure;
  }));
  $('preview-blend').textContent = blend ? `Mixup, this draw: each image is ${shares} (one weight a batch).` : '';
}

// Wires the form up and fills it from Rust once the CPU bundle is ready. `page` is the hooks
// above, passed in so that the form never imports app.js.
export function startForm(page) {
  hooks = page;
  $('settings').addEventListener('input', readSettings);
  // A preset starts from the form's defaults; the training worker knows each preset's settings.
  $('settings').elements.preset.addEventListener('change', ({ target }) => {
    hooks.post({ type: 'preset', name: target.value });
  });
  $('efficiency').addEventListener('change', showRecipeFields);
  describePrecision();
  $('settings').elements.optimizer.addEventListener('change', ({ target }) => {
    const defaults = schema.optimizers.find((o) => o.name === target.value);
    for (const name of ['learning_rate', 'weight_decay']) $('settings').elements[name].value = defaults[name];
    showRecipeFields();
    readSettings();
  });
  $('settings').elements.schedule.addEventListener('change', showRecipeFields);
  $('settings').elements.clip_on.addEventListener('change', showRecipeFields);
  $('settings').elements.network.addEventListener('change', () => { showRecipeFields(); readSettings(); requestPreview(); });
  showRecipeFields();
  init().then(() => setUpForm(JSON.parse(settingsSchema())))
    .catch((e) => { $('settings-error').textContent = `The settings could not be checked: ${e.message ?? e}`; });
  $('augmentation').addEventListener('input', () => { showRecipeFields(); requestPreview(); });
  $('reshuffle').onclick = () => { previewSeed += 1; requestPreview(); };
}
