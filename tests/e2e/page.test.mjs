// End-to-end tests of the page as `./build.sh serve` serves it, in Debian's headless Chromium
// driven by playwright-core. Run by `./build.sh test` (node --test tests/e2e/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serveAndLaunch } from './browser.mjs';

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
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('MNIST loaded'),
                             null, { timeout: 60_000 });
  await page.waitForFunction(() => document.querySelector('#model-info').textContent.includes('Shipped weights'));
  assert.match(await page.locator('#model-info').textContent(), /test accuracy 99\.\d\d%/);
  assert.deepEqual(consoleErrors, []);
});

test('a drawn stroke gets a prediction from the shipped model', async () => {
  const box = await page.locator('#pad').boundingBox();
  // A vertical stroke down the middle: a "1".
  await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) {
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * (0.15 + 0.07 * i));
  }
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('#prediction').textContent.startsWith('It reads'));
  assert.match(await page.locator('#prediction').textContent(), /^It reads 1 /);
  const sum = await page.$$eval('#bars output', (outs) => outs.reduce((s, o) => s + parseFloat(o.textContent), 0));
  assert.ok(Math.abs(sum - 100) < 1, `probabilities add up to ${sum}%`);
});

test('a damaged weights file is refused and predictions stay the same', async () => {
  const before = await page.locator('#prediction').textContent();
  const dir = mkdtempSync(join(tmpdir(), 'kindling-weights-'));
  const file = join(dir, 'damaged.kndl');
  writeFileSync(file, Buffer.from('KNDL this is not a weights file'));
  await page.setInputFiles('#weights-file', file);
  await page.waitForFunction(() => document.querySelector('#weights-error').textContent.length > 0);
  assert.match(await page.locator('#weights-error').textContent(), /not loaded.*unchanged/);
  assert.equal(await page.locator('#prediction').textContent(), before);
});

test('out-of-range settings are refused next to the form', async () => {
  await page.fill('input[name=learning_rate]', '0');
  await page.click('#start');
  assert.match(await page.locator('#settings-error').textContent(), /Learning rate must be/);
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

test('after a reload the page offers to continue from the last epoch, and does', async () => {
  await page.reload();
  await page.waitForFunction(() => !document.querySelector('#resume-offer').hidden, null, { timeout: 60_000 });
  assert.match(await page.locator('#resume-text').textContent(), /stopped after epoch 1 of 2/);
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
