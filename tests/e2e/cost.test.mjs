// What a run costs, in the page (issue 5): the cost settings refused when impossible, the live
// cost line with its assumptions, early stopping and what it saved, the run card, int8
// compression measured on the full test set, and a distilled student. Run by `./build.sh test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, openLoadedPage, serveAndLaunch } from './browser.mjs';

let session, page;
const consoleErrors = [];

before(async () => {
  session = await serveAndLaunch();
  page = await openLoadedPage(session, consoleErrors);
  await page.click('#efficiency summary');
  await page.selectOption('select[name=backend]', 'cpu');
  await page.fill('input[name=limit]', '600');
});

after(async () => {
  await session?.close();
});

const text = (selector) => page.locator(selector).textContent();
const finished = () => page.waitForFunction(() => /done|stopped early/.test(document.querySelector('#status').textContent),
                                            null, { timeout: 300_000 });

test('impossible power and grid intensity are refused next to the form', async () => {
  await page.fill('input[name=watts]', '-5');
  await page.fill('input[name=grid]', '');
  await page.click('#start');
  const message = await text('#settings-error');
  assert.match(message, /power \(W\) must be a number in \(0, 10000\], got -5/);
  assert.match(message, /grid carbon intensity \(gCO₂e\/kWh\) must be a number from 0 to 2000, got nothing/);
  assert.ok(await page.locator('#pause').isDisabled(), 'training did not start');
  await page.selectOption('select[name=power]', 'laptop-cpu');
  assert.equal(await page.locator('input[name=watts]').inputValue(), '15', 'a preset fills in its watts');
  await page.fill('input[name=grid]', '436');
  assert.match(await text('#energy-note'), /436 g\/kWh: world average 2022, Ember/);
  assert.match(await text('#precision-note'), /Mixed precision \(f16\): (this GPU (has|lacks) shader-f16|no WebGPU adapter)/);
});

test('a run shows what it spends as it goes, stops early at its target and leaves a run card', async () => {
  await page.fill('input[name=epochs]', '5');
  await page.check('input[name=stop_on]');
  await page.fill('input[name=stop_at]', '60');
  await page.click('#start');
  await page.waitForFunction(() => /Spent .*FLOP/.test(document.querySelector('#cost').textContent), null, { timeout: 120_000 });
  const live = await text('#cost');
  assert.match(live, /Estimated: 15 W \(laptop CPU, assumed\) × [\d.]+ s of work; 436 gCO₂e\/kWh \(world average 2022/);
  await finished();
  assert.match(await text('#status'), /stopped early: reached \d+\.\d\d% \(target 60\.00%\)/);
  assert.match(await text('#cost'), /stopped early \(reached [\d.]+%\): saved [1-4] epochs ≈/);
  const card = await text('#card-text');
  for (const line of [/Kindling run card · adam lr 0\.001 · stop at 60%/, /model +CNN conv 32\/64, dense 64 · 121930 parameters/,
    /data +MNIST, 600 training images per epoch · [\d.]+ MB of data files/, /compute +[\d.]+ [GT]FLOP/,
    /energy +[\d.]+ m?Wh \(\d+ J\), estimated: 15 W × [\d.]+ s/, /CO₂e +[\d.]+ m?g, estimated/,
    /stopped +early, reached/, /weights +489 KB file/]) {
    assert.match(card, line);
  }
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#card-json')]);
  const record = JSON.parse(readFileSync(await file.path(), 'utf8'));
  assert.ok(record.cost.flops > 600 * 14.7e6, 'training and evaluation FLOPs');
  assert.equal(record.cost.energy.watts, 15);
  assert.ok(record.cost.early_stop.epochs_saved >= 1);
  assert.ok(record.data_bytes > 10e6, 'MNIST as downloaded, gzipped');
  const row = await page.locator('#runs-table tr').nth(1).textContent();
  assert.match(row, /[\d.]+ (GFLOP|TFLOP)/);
  assert.match(row, /[\d.]+ m?Wh/);
});

test('int8 weights are four times smaller, nearly as accurate, and load back', async () => {
  await page.click('#compress');
  await page.waitForSelector('#compression:not([hidden])', { timeout: 120_000 });
  const caption = await text('#compression-table caption');
  const [, ratio] = caption.match(/int8 is ([\d.]+)× smaller/);
  assert.ok(Number(ratio) > 3.9, caption);
  const [, points] = caption.match(/([+-][\d.]+) points of test accuracy/);
  assert.ok(Math.abs(Number(points)) <= 1, `a barely trained model moves little: ${caption}`);
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#download-int8')]);
  await page.setInputFiles('#weights-file', await file.path());
  await page.waitForFunction(() => document.querySelector('#model-info').textContent.startsWith('Loaded weights'));
  assert.equal(await text('#weights-error'), '');
});

test('mixed precision on WebGPU needs shader-f16, and without it the run is refused with the reason', async () => {
  const note = await text('#precision-note');
  await page.fill('input[name=epochs]', '1');
  await page.selectOption('select[name=backend]', 'webgpu');
  await page.check('input[name=compute_f16]');
  await page.click('#start');
  if (note.includes('lacks shader-f16')) {
    await page.waitForFunction(() => document.querySelector('#run-error').textContent.includes('f16'), null, { timeout: 120_000 });
    assert.match(await text('#run-error'), /this device cannot compute in f16 \(a WebGPU adapter needs shader-f16\): train in f32/);
  } else {
    await finished();
    assert.match(await text('#card-text'), /mixed precision f16/);
  }
  await page.uncheck('input[name=compute_f16]');
  await page.selectOption('select[name=backend]', 'cpu');
});

test('a small student distils from the model reading drawings', async () => {
  await page.uncheck('input[name=stop_on]');
  await page.fill('input[name=epochs]', '1');
  await page.check('input[name=student]');
  await page.check('input[name=distill]');
  await page.fill('input[name=temperature]', '3');
  await page.click('#start');
  await finished();
  const card = await text('#card-text');
  assert.match(card, /conv 8\/16 dense 16 · distilled T 3 α 0\.9/);
  assert.match(card, /model +CNN conv 8\/16, dense 16 · 7834 parameters/);
  mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'artifacts', 'page-cost.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});
