// The networks besides the CNN in the page (issue 17): the form's fields for each network, an
// RNN trained on the CPU and on WebGPU with its row-by-row view of a drawing, an autoencoder with
// its reconstructions, the drawing's reconstruction and the code map (a click decodes a point),
// their weights saved and opened again, an autoencoder's weights refused where a classifier is
// needed (and an RNN's checkpoint continued as a CNN), a run continued after a reload, and the
// page at phone width. Every run is tiny (256 to
// 512 training images, one or two epochs). Screenshots go to artifacts/ (networks-*.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canvasPixels, drawOnPad, mnistLoaded, openLoadedPage, ROOT, serveAndLaunch, setSettings, SEVEN, waitForText as waitForTextOn } from './browser.mjs';

const ARTIFACTS = join(ROOT, 'artifacts');
const FILES = mkdtempSync(join(tmpdir(), 'kindling-networks-'));

let session, page;
const consoleErrors = [];
const saved = {};   // weights files the page downloaded: {rnn, autoencoder}

before(async () => {
  session = await serveAndLaunch();
  page = await openLoadedPage(session, consoleErrors);
  await page.click('#recipe summary');
  await page.click('#augmentation summary');
  await page.click('#efficiency summary');
});

after(async () => {
  await session?.close();
});

const text = (selector) => page.locator(selector).textContent();
const visible = (selector) => page.locator(selector).isVisible();
const waitForText = (selector, pattern, timeout = 120_000) => waitForTextOn(page, selector, pattern, timeout);

const pixels = (id) => canvasPixels(page, id);

// Chooses a network in the form and fills in its settings and the run's.
async function chooseNetwork(network, { cell, ...numbers }) {
  await page.selectOption('select[name=network]', network);
  if (cell) await page.selectOption('select[name=cell]', cell);
  await setSettings(page, numbers);
}

// Trains with the form as it is, until the run is done.
async function train(timeout = 180_000) {
  await page.click('#start');
  await waitForText('#status', /done/, timeout);
  assert.equal(await text('#run-error'), '');
}

// The run's weights file, as the Download button gives it, kept under `name`.
async function download(name) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const path = join(FILES, `${name}.kndl`);
  copyFileSync(await file.path(), path);
  return path;
}

// Nothing in the page reaches past a 390-pixel-wide screen.
async function assertFitsPhone(name) {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => document.querySelector('#network-view').clientWidth < 390);
  await page.waitForTimeout(400);   // the maps and charts follow their boxes' sizes
  // (The confusion matrix and the runs table scroll inside their own boxes.)
  const wide = await page.evaluate(() => [...document.querySelectorAll('#settings *, #network-view *, #grid *')]
    .filter((e) => e.getBoundingClientRect().right > 390.5).map((e) => `${e.tagName}#${e.id}.${e.className}`));
  assert.deepEqual(wide, [], 'nothing is wider than a phone');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'nor is the page');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('#network-view').screenshot({ path: join(ARTIFACTS, `networks-${name}-phone.png`) });
  await page.setViewportSize({ width: 1280, height: 800 });
}

test('the form shows and sends only the chosen network\'s fields', async () => {
  assert.equal(await page.inputValue('select[name=network]'), 'cnn');
  for (const name of ['units', 'bottleneck', 'noise']) assert.ok(!(await visible(`input[name=${name}]`)), `${name} hidden for the CNN`);
  assert.ok(!(await visible('select[name=cell]')));
  // CNN-only options ticked, then another network chosen: hidden, and not sent (Rust would refuse them).
  await page.check('input[name=batch_norm]');
  await page.check('input[name=mixup_on]');
  await page.check('input[name=stop_on]');
  await page.selectOption('select[name=network]', 'rnn');
  for (const name of ['units']) assert.ok(await visible(`input[name=${name}]`));
  assert.ok(await visible('select[name=cell]'));
  assert.equal(await page.inputValue('input[name=units]'), '128', 'the default from Rust\'s settings table');
  for (const name of ['dropout', 'batch_norm', 'student', 'distill', 'compute_f16', 'bottleneck']) {
    assert.ok(!(await visible(`input[name=${name}]`)), `${name} hidden for the RNN`);
  }
  assert.ok(!(await visible('select[name=preset]')), 'the presets are the CNN\'s recipes');
  assert.ok(await visible('input[name=mixup]') && await visible('input[name=stop_at]'), 'mixup and early stopping stay');
  assert.equal(await text('#settings-error'), '');
  await page.fill('input[name=units]', '0');
  assert.match(await text('small.why[data-for=units]'), /^units of the recurrent layer must be a whole number from 1 to 1024, got 0$/);
  await page.fill('input[name=units]', '16');
  await page.selectOption('select[name=network]', 'autoencoder');
  assert.ok(await visible('input[name=bottleneck]') && await visible('input[name=noise]'));
  for (const name of ['units', 'mixup_on', 'mixup', 'stop_on', 'stop_at', 'patience_on', 'batch_norm', 'dropout']) {
    assert.ok(!(await visible(`input[name=${name}]`)), `${name} hidden for the autoencoder`);
  }
  assert.equal(await text('#settings-error'), '');
  // Back to the CNN: its options are as they were.
  await page.selectOption('select[name=network]', 'cnn');
  assert.ok(await visible('input[name=batch_norm]') && await page.isChecked('input[name=batch_norm]'));
  assert.ok(!(await visible('input[name=units]')));
  for (const name of ['batch_norm', 'mixup_on', 'stop_on']) await page.uncheck(`input[name=${name}]`);
  assert.equal(await text('#settings-error'), '');
});

test('an RNN trains on the CPU and shows its answer after each row of a drawing', async () => {
  await chooseNetwork('rnn', { cell: 'lstm', units: 16, epochs: 1, limit: 256, backend: 'cpu' });
  await drawOnPad(page, SEVEN);
  await waitForText('#prediction', /^It reads/);
  assert.ok(!(await visible('#network-view')), 'no view before an RNN arrives');
  await train();
  assert.ok(await visible('#rows-view') && !(await visible('#autoencoder-view')));
  await waitForText('#rows-answer', /^RNN: \d \(\d+%, settled after row \d+ of 28\) · CNN: \d \(\d+%\)$/);
  assert.match(await text('#network-source'), /^An RNN \(LSTM, 16 units\), the run's weights in epoch 1\./);
  assert.ok((await pixels('rows')).coloured > 500, 'the heat map is drawn');
  assert.match(await text('#model-info'), /^After epoch 1: test accuracy \d+\.\d\d%/);
  assert.equal(await page.locator('#grid figure').count(), 100, 'a classifier\'s results');
  assert.match(await page.locator('#runs-table tr').last().textContent(), /RNN LSTM 16/);
  saved.rnn = await download('rnn');
  assert.deepEqual(consoleErrors, []);
});

test('an RNN trains on WebGPU and its row view follows the run\'s weights', async () => {
  // On this software adapter the evaluation of the whole test set takes most of a minute.
  const before = (await pixels('rows')).url;
  await chooseNetwork('rnn', { cell: 'gru', backend: 'webgpu' });
  await train(300_000);
  assert.match(await text('#device-note'), /^Training on WebGPU/);
  assert.match(await text('#model-info'), /^After epoch 1: test accuracy \d+\.\d\d%/);
  await waitForText('#network-source', /^An RNN \(GRU, 16 units\), the run's weights in epoch 1\./);
  await waitForText('#rows-answer', /^RNN: \d/);
  await page.waitForFunction((old) => document.getElementById('rows').toDataURL() !== old, before);
  assert.deepEqual(consoleErrors, []);
});

test('an autoencoder trains, shows test digits above their reconstructions, redraws a drawing and maps its codes', async () => {
  await chooseNetwork('autoencoder', { bottleneck: 2, epochs: 1, limit: 256, backend: 'cpu' });
  await page.click('#start');
  await waitForText('#model-info', /^After epoch 1: test reconstruction error 0\.\d{4} \(mean squared error per pixel/, 180_000);
  assert.equal(await page.locator('#grid figure.reconstructed').count(), 24);
  assert.equal(await page.locator('#grid figure.reconstructed canvas').count(), 48, 'each digit above its reconstruction');
  assert.ok(!(await visible('#views')), 'no confusion matrix or mistakes');
  assert.match(await page.locator('#chart .u-legend').textContent(), /test reconstruction error/);
  assert.doesNotMatch(await page.locator('#chart .u-legend').textContent(), /(?<!picked run: )test accuracy/);
  await waitForText('#status', /done/);
  assert.match(await page.locator('#runs-table tr').last().textContent(), /autoencoder code 2 .*error 0\.\d{4}/);
  // The drawing, drawn back.
  assert.ok(await visible('#autoencoder-view') && !(await visible('#rows-view')));
  await waitForText('#ae-output-caption', /^drawn back from a code of 2 numbers: \(-?[\d.e-]+, -?[\d.e-]+\)$/);
  assert.ok((await pixels('ae-output')).lit > 20, 'the reconstruction is drawn');
  // The code map of the test set, then a click decodes a point.
  await waitForText('#codemap-caption', /^The run's autoencoder after epoch 1: the 10,000 test digits by their codes/);
  assert.ok((await pixels('codemap')).coloured > 2000, 'the codes are drawn in their classes\' colours');
  const box = await page.locator('#codemap').boundingBox();
  await page.locator('#codemap').click({ position: { x: box.width * 0.5, y: box.height * 0.5 } });
  await waitForText('#decoded-caption', /^the code \(-?[\d.e-]+, -?[\d.e-]+\) drawn$/);
  assert.ok((await pixels('decoded-digit')).lit > 20, 'the decoded digit is drawn');
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('#network-view').screenshot({ path: join(ARTIFACTS, 'networks-autoencoder.png') });
  saved.autoencoder = await download('autoencoder');
  // int8 against f32: measured by the reconstruction error, as there is no accuracy.
  await page.click('#compress');
  await waitForText('#compression-table', /test error.*int8 is \d+\.\d× smaller .*test reconstruction error 0\.\d{4} → 0\.\d{4}\.$/);
  assert.deepEqual(consoleErrors, []);
});

test('saved weights opened again show their network\'s view; Reset hides it', async () => {
  await page.click('#reset');
  await page.waitForFunction(() => document.querySelector('#network-view').hidden);
  await page.setInputFiles('#weights-file', saved.rnn);
  await waitForText('#model-info', /^Loaded weights of an RNN \(LSTM, 16 units\): 1 epochs on mnist, test accuracy \d+\.\d\d%/);
  await waitForText('#network-source', /^An RNN \(LSTM, 16 units\), the loaded weights\./);
  assert.ok(await visible('#rows-view'));
  await waitForText('#rows-answer', /^RNN: \d .* · CNN: \d/);
  await page.setInputFiles('#weights-file', saved.autoencoder);
  await waitForText('#model-info', /^Loaded weights of an autoencoder \(code of 2 numbers\): 1 epochs on mnist, no test accuracy/);
  assert.ok(await visible('#autoencoder-view') && !(await visible('#rows-view')));
  await waitForText('#codemap-caption', /^The loaded autoencoder: the 10,000 test digits/);
  await waitForText('#ae-output-caption', /^drawn back from a code of 2 numbers/);
  assert.match(await text('#prediction'), /^It reads \d/, 'the CNN still answers');
  await assertFitsPhone('autoencoder');
  assert.deepEqual(consoleErrors, []);
});

test('an autoencoder\'s weights are refused where a classifier is needed, saying so, and nothing is lost', async () => {
  // The loaded autoencoder is the latest weights: as a distillation's teacher it is refused.
  await chooseNetwork('cnn', { epochs: 1, limit: 256, backend: 'cpu' });
  await page.check('input[name=distill]');
  await page.click('#start');
  await waitForText('#run-error', /the teacher: the weights are for an autoencoder, but a CNN classifier is needed here/);
  assert.ok(await page.locator('#start').isEnabled(), 'Train is available again');
  assert.ok(await visible('#autoencoder-view'), 'the autoencoder\'s view stays');
  assert.match(await text('#codemap-caption'), /^The loaded autoencoder/);
  await page.uncheck('input[name=distill]');
});

test('a stopped RNN run continues after a reload, with its network in the form', async () => {
  // 16 steps an epoch: time enough to stop within the first, even on a busy machine.
  await chooseNetwork('rnn', { cell: 'gru', units: 16, epochs: 2, limit: 2048, backend: 'cpu' });
  await page.click('#start');
  await waitForText('#status', /epoch 1\/2 · step [1-8]\//);
  await page.click('#stop');
  await waitForText('#status', /stopped/);
  await page.reload();
  await mnistLoaded(page);
  await page.waitForFunction(() => !document.querySelector('#resume-offer').hidden, null, { timeout: 60_000 });
  assert.equal(await page.inputValue('select[name=network]'), 'rnn');
  assert.equal(await page.inputValue('select[name=cell]'), 'gru');
  assert.equal(await page.inputValue('input[name=units]'), '16');
  assert.ok(!(await visible('input[name=dropout]')));
  // The checkpoint holds an RNN: continuing it as a CNN is refused with Rust's sentence, and the offer stays.
  await page.selectOption('select[name=network]', 'cnn');
  await page.click('#continue');
  await waitForText('#run-error', /^Training stopped: the checkpoint was trained with other settings \(network RNN GRU \d+ there, CNN conv .* here\)/);
  assert.ok(await visible('#resume-offer'), 'the offer to continue stays');
  await page.selectOption('select[name=network]', 'rnn');
  await page.click('#continue');
  await waitForText('#status', /done/, 180_000);
  assert.match(await text('#status'), /epoch 2\/2/);
  assert.match(await text('#model-info'), /^After epoch 2/);
  await waitForText('#network-source', /^An RNN \(GRU, 16 units\), the run's weights in epoch 2\./);
  await drawOnPad(page, SEVEN);
  await waitForText('#rows-answer', /^RNN: \d/);
  await assertFitsPhone('rnn');
  assert.deepEqual(consoleErrors, []);
});
