// End-to-end tests of the page as `./build.sh serve` serves it, in Debian's headless Chromium
// driven by playwright-core. Run by `./build.sh test` (node --test tests/e2e/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, drawOnPad, mnistLoaded, serveAndLaunch, setSettings as fillSettings } from './browser.mjs';

const ARTIFACTS = join(ROOT, 'artifacts');

let session, page;
const consoleErrors = [];

before(async () => {
  session = await serveAndLaunch();
  page = await session.browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(session.url);
});

after(async () => {
  await session?.close();
});

const status = () => page.locator('#status').textContent();

test('the page loads MNIST and the shipped model with no console errors', async () => {
  await mnistLoaded(page);
  await page.waitForFunction(() => document.querySelector('#model-info').textContent.includes('Shipped weights'));
  assert.match(await page.locator('#model-info').textContent(), /test accuracy 99\.\d\d%/);
  assert.deepEqual(consoleErrors, []);
});

test('a drawn stroke gets a prediction from the shipped model', async () => {
  // A vertical stroke down the middle: a "1".
  await drawOnPad(page, [Array.from({ length: 11 }, (_, i) => [0.5, 0.15 + 0.07 * i])]);
  await page.waitForFunction(() => document.querySelector('#prediction').textContent.startsWith('It reads'));
  assert.match(await page.locator('#prediction').textContent(), /^It reads 1 /);
  const sum = await page.$$eval('#bars output', (outs) => outs.reduce((s, o) => s + parseFloat(o.textContent), 0));
  assert.ok(Math.abs(sum - 100) < 1, `probabilities add up to ${sum}%`);
});

// The answer to the drawing, without its time: the drawing may be read again meanwhile (when
// the prediction worker's embedding map is done, say), in another number of milliseconds.
const answer = async () => (await page.locator('#prediction').textContent()).replace(/, [\d.]+ ms\)$/, ')');

test('a damaged weights file is refused and predictions stay the same', async () => {
  const before = await answer();
  const dir = mkdtempSync(join(tmpdir(), 'kindling-weights-'));
  const file = join(dir, 'damaged.kndl');
  writeFileSync(file, Buffer.from('KNDL this is not a weights file'));
  await page.setInputFiles('#weights-file', file);
  await page.waitForFunction(() => document.querySelector('#weights-error').textContent.length > 0);
  assert.match(await page.locator('#weights-error').textContent(), /not loaded.*unchanged/);
  assert.equal(await answer(), before);
});

test('a weights header describing a model its record cannot hold is refused at once', async () => {
  // conv 1024/1024, dense 1024 (35.7 million parameters) over 258 bytes with a right checksum:
  // the worker must refuse it from the header, without building the model.
  const record = Buffer.alloc(258, 7);
  let checksum = 0xcbf29ce484222325n;
  for (const byte of record) checksum = ((checksum ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  const header = Buffer.from('{"model":{"conv1_channels":1024,"conv2_channels":1024,"hidden":1024,' +
    '"dropout":0.5,"batch_norm":false},"normalization":"UnitRange","dataset":"mnist","epochs":1,' +
    `"test_accuracy":null,"precision":"f32","record_checksum":${checksum},"record_len":258}`);
  const prefix = Buffer.alloc(12);
  prefix.write('KNDL');
  prefix.writeUInt32LE(1, 4);
  prefix.writeUInt32LE(header.length, 8);
  const before = await answer();
  const file = join(mkdtempSync(join(tmpdir(), 'kindling-weights-')), 'crafted.kndl');
  writeFileSync(file, Buffer.concat([prefix, header, record]));
  const started = Date.now();
  await page.setInputFiles('#weights-file', file);
  await page.waitForFunction(() => document.querySelector('#weights-error').textContent.length > 0);
  assert.ok(Date.now() - started < 2000, `refused after ${Date.now() - started} ms`);
  assert.match(await page.locator('#weights-error').textContent(),
               /not loaded: the header describes a model of 35,674,122 parameters .* the record holds only 258 bytes.*unchanged/);
  assert.equal(await answer(), before);
});

test('out-of-range settings are refused next to the form', async () => {
  await page.fill('input[name=learning_rate]', '0');
  await page.click('#start');
  assert.match(await page.locator('#settings-error').textContent(), /learning rate must be a number in \(0, 10\], got 0/);
  assert.ok(await page.locator('#pause').isDisabled(), 'training did not start');
  await page.fill('input[name=learning_rate]', '0.001');
  assert.equal(await page.locator('#settings-error').textContent(), '');
});

test('Train runs steps and plots them; Pause stops the step counter', async () => {
  await page.fill('input[name=epochs]', '2');
  await page.fill('input[name=limit]', '1280');   // 10 steps an epoch
  await page.selectOption('select[name=backend]', 'cpu');
  await page.click('#start');
  await page.waitForFunction(() => document.querySelector('#device-note').textContent.startsWith('Training on CPU'));
  await page.waitForFunction(() => /step (\d+)\//.exec(document.querySelector('#status').textContent)?.[1] >= 3,
                             null, { timeout: 120_000 });
  await page.click('#pause');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('paused'));
  const paused = await status();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await status(), paused, 'no step while paused');
  await page.click('#resume');
  await page.waitForFunction(() => document.querySelectorAll('#grid figure').length === 100,
                             null, { timeout: 300_000 });
  assert.match(await page.locator('#model-info').textContent(), /After epoch 1: test accuracy \d+\.\d\d%/);
  const plotted = await page.evaluate(() => document.querySelector('#chart .u-over') !== null);
  assert.ok(plotted, 'the chart is drawn');
  await page.click('#stop');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('stopped'));
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'page-after-training.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});

test('after a reload the page offers to continue from where Stop left the run, and does', async () => {
  await page.reload();
  await page.waitForFunction(() => !document.querySelector('#resume-offer').hidden, null, { timeout: 60_000 });
  assert.match(await page.locator('#resume-text').textContent(), /stopped in epoch 2 of 2, after step \d+ of 10/);
  await page.click('#continue');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('done'),
                             null, { timeout: 300_000 });
  assert.match(await page.locator('#status').textContent(), /epoch 2\/2/);
  assert.match(await page.locator('#model-info').textContent(), /After epoch 2/);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(ARTIFACTS, 'page-phone-width.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
  assert.deepEqual(consoleErrors, []);
});

// The run's weights file, as the Download button gives it.
async function downloadedWeights() {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  return readFileSync(await file.path());
}

const waitForStatus = (pattern, timeout = 300_000) => page.waitForFunction(
  (source) => new RegExp(source).test(document.querySelector('#status').textContent), pattern.source, { timeout });

test('a run stopped mid-epoch, reloaded and continued ends with the weights of the run straight through', async () => {
  const settings = { epochs: 2, limit: 640, backend: 'cpu' };   // 5 steps an epoch
  await reloadAndWait();
  await setSettings(settings);
  await page.click('#start');
  await waitForStatus(/done/);
  const straight = await downloadedWeights();

  await reloadAndWait();
  await setSettings(settings);
  await page.click('#start');
  await waitForStatus(/epoch 1\/2 · step [3-5]\//, 120_000);
  await page.click('#stop');
  await waitForStatus(/stopped/);
  await page.reload();
  await page.waitForFunction(() => !document.querySelector('#resume-offer').hidden, null, { timeout: 60_000 });
  assert.match(await page.locator('#resume-text').textContent(), /stopped (in epoch 1 of 2, after step [3-5] of 5|after epoch 1 of 2)/);
  // A checkpoint continues its own run: another learning rate is refused with the reason, and
  // the offer stays.
  await setSettings({ learning_rate: 0.002 });
  await page.click('#continue');
  await page.waitForFunction(() => document.querySelector('#run-error').textContent.length > 0);
  assert.match(await page.locator('#run-error').textContent(),
               /the checkpoint was trained with other settings \(learning_rate 0\.001 there, 0\.002 here\)/);
  assert.ok(await page.locator('#resume-offer').isVisible());
  await setSettings({ learning_rate: 0.001 });
  await page.click('#continue');
  await waitForStatus(/done/);
  assert.match(await status(), /epoch 2\/2 · step 5\/5/);
  const continued = await downloadedWeights();
  assert.equal(continued.length, straight.length);
  assert.ok(continued.equals(straight), 'the continued run ends with the same weights, bit for bit');
  assert.deepEqual(consoleErrors, []);
});

async function reloadAndWait() {
  await page.reload();
  await mnistLoaded(page);
}

const setSettings = (settings) => fillSettings(page, settings);

// Starts a run with `settings` and waits until it stops with a message under the progress bar.
async function trainUntilRunError(settings, timeout) {
  await setSettings(settings);
  await page.click('#start');
  await page.waitForFunction(() => document.querySelector('#run-error').textContent.length > 0, null, { timeout });
  return page.locator('#run-error').textContent();
}

test('a diverging run stops, says so, and keeps the last good weights to continue from', async () => {
  await reloadAndWait();
  // Adam at a learning rate of 1 blows the seed model's logits up within a few steps.
  assert.match(await trainUntilRunError({ epochs: 1, limit: 1280, learning_rate: 1, backend: 'cpu' }, 120_000),
               /training diverged at epoch 1, step \d+ .*try a lower learning rate.*last good weights/);
  assert.ok(await page.locator('#resume-offer').isVisible(), 'offers to continue from the last good weights');
  assert.match(await page.locator('#resume-text').textContent(), /last good weights \(after epoch 1, step \d+\)/);
  assert.ok(await page.locator('#start').isEnabled(), 'Train is available again');
  // Continue with a sane learning rate: the run goes on from the kept weights and finishes.
  await setSettings({ learning_rate: 0.001 });
  await page.click('#continue');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('done'),
                             null, { timeout: 300_000 });
  assert.equal(await page.locator('#run-error').textContent(), '');
  // Reset: default settings, no results, the shipped weights answer drawings again.
  await page.click('#reset');
  await page.waitForFunction(() => document.querySelector('#model-info').textContent.startsWith('Shipped weights'));
  assert.equal(await page.inputValue('input[name=limit]'), '60000');
  assert.equal(await page.locator('#grid figure').count(), 0);
  assert.ok(await page.locator('#start').isEnabled());
  assert.deepEqual(consoleErrors, []);
});

// Prepended to the training worker: destroys its GPU device right after the second step, as a
// driver reset or an unplugged GPU would.
const LOSE_DEVICE = `{
  const devices = [], requestDevice = GPUAdapter.prototype.requestDevice, post = self.postMessage.bind(self);
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args); devices.push(device); return device; };
  let steps = 0;
  self.postMessage = (message, transfer) => {
    post(message, transfer);
    if (message?.type === 'step' && ++steps === 2) devices.forEach((d) => d.destroy());
  };
}
`;

test('a lost GPU device stops the run with a message, keeps the weights, and the run continues on the CPU', async () => {
  await page.route('**/train-worker.js', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: LOSE_DEVICE + await response.text() });
  });
  try {
    await reloadAndWait();
    const settings = { epochs: 1, limit: 1280, learning_rate: 0.001, backend: 'webgpu' };
    assert.match(await trainUntilRunError(settings, 300_000),
                 /GPU device was lost .*Training stopped; the weights after epoch 1, step [12] are kept/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'page-device-lost.png'), fullPage: true });
    // The worker is replaced: it loads MNIST again and Train comes back.
    await page.waitForFunction(() => !document.querySelector('#start').disabled, null, { timeout: 60_000 });
    assert.ok(await page.locator('#resume-offer').isVisible(), 'offers to continue from the kept weights');
    await setSettings({ backend: 'cpu' });
    await page.click('#continue');
    await page.waitForFunction(() => document.querySelector('#status').textContent.includes('done'),
                               null, { timeout: 300_000 });
    assert.match(await page.locator('#device-note').textContent(), /^Training on CPU/);
    assert.deepEqual(consoleErrors.filter((e) => !/device|destroyed|lost/i.test(e)), []);
  } finally {
    await page.unroute('**/train-worker.js');
  }
});

test('on a software WebGPU adapter, automatic times both devices and says which it took', async () => {
  // Headless Chromium here offers SwiftShader, a fallback adapter: the page must time a step on
  // it and on the CPU (which loads and runs the WebGPU bundle) and report both.
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#device-note').textContent.includes('software'),
                             null, { timeout: 60_000 });
  await page.fill('input[name=epochs]', '1');
  await page.fill('input[name=limit]', '256');
  await page.selectOption('select[name=backend]', 'auto');
  await page.click('#start');
  await page.waitForFunction(() => document.querySelector('#device-note').textContent.startsWith('Training on'),
                             null, { timeout: 300_000 });
  const note = await page.locator('#device-note').textContent();
  assert.match(note, /timed a step: CPU \d+\.\d\d s, WebGPU \(.*software fallback\) \d+\.\d\d s/);
  await page.waitForFunction(() => /done|stopped/.test(document.querySelector('#status').textContent),
                             null, { timeout: 300_000 });
  assert.deepEqual(consoleErrors, []);
});
