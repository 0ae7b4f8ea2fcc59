// The training toolkit in the page (issue 4): BatchNorm and augmentation with their live
// preview, the presets, and the comparison of finished runs kept across reloads.
// Run by `./build.sh test`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, mnistLoaded, openLoadedPage, serveAndLaunch } from './browser.mjs';

let session, page;
const consoleErrors = [];

before(async () => {
  session = await serveAndLaunch();
  page = await openLoadedPage(session, consoleErrors);
  await page.click('#augmentation summary');
});

after(async () => {
  await session?.close();
});

// The preview's pixels and captions, once it has been redrawn after `change`.
async function previewAfter(change) {
  const before = await page.evaluate(() => [...document.querySelectorAll('#preview canvas')].map((c) => c.toDataURL()).join());
  await change();
  await page.waitForFunction((old) => {
    const now = [...document.querySelectorAll('#preview canvas')].map((c) => c.toDataURL()).join();
    return now && now !== old;
  }, before, { timeout: 10_000 });
  return page.$$eval('#preview figcaption', (captions) => captions.map((c) => c.textContent));
}

test('the preview shows training images as the augmentation settings change them', async () => {
  await page.waitForFunction(() => document.querySelectorAll('#preview figure').length === 16, null, { timeout: 10_000 });
  const plain = await page.$$eval('#preview figcaption', (c) => c.map((e) => e.textContent));
  assert.ok(plain.every((c) => /^\d$/.test(c)), `labels only: ${plain}`);
  await previewAfter(() => page.fill('input[name=rotation]', '30'));
  await previewAfter(() => page.click('#reshuffle'));
  const mixed = await previewAfter(() => page.check('input[name=mixup_on]'));
  assert.ok(mixed.some((c) => /^\d\+\d$/.test(c)), `mixup blends two classes: ${mixed}`);
  assert.match(await page.locator('#preview-blend').textContent(), /each image is \d+% the first class and \d+% the second/);
  assert.ok(await page.locator('#flip-warning').isHidden());
  await page.check('input[name=flip]');
  assert.match(await page.locator('#flip-warning').textContent(), /not that digit/);
});

test('out-of-range augmentation is refused next to the form', async () => {
  await page.fill('input[name=rotation]', '200');
  await page.fill('input[name=mixup]', '0');
  await page.click('#start');
  const message = await page.locator('#settings-error').textContent();
  assert.match(message, /rotation \(degrees\) must be a number from 0 to 180, got 200/);
  assert.match(message, /mixup α must be a number in \(0, 100\], got 0/);
  assert.ok(await page.locator('#pause').isDisabled(), 'training did not start');
});

test('the best preset fills in its recipe over the defaults', async () => {
  await page.selectOption('select[name=preset]', 'best');
  await page.waitForFunction(() => document.querySelector('input[name=batch_norm]').checked);
  const value = (name) => page.locator(`[name=${name}]`).inputValue();
  assert.equal(await value('shift'), '2');
  assert.equal(await value('rotation'), '10');
  assert.equal(await value('schedule'), 'cosine');
  assert.equal(await value('learning_rate'), '0.003');
  assert.ok(!(await page.locator('input[name=mixup_on]').isChecked()), 'the earlier mixup is gone');
  assert.ok(!(await page.locator('input[name=flip]').isChecked()));
  assert.equal(await page.locator('#settings-error').textContent(), '');
});

test('a finished run is kept in the runs table, survives a reload and can be drawn on the chart', async () => {
  await page.fill('input[name=epochs]', '1');
  await page.fill('input[name=limit]', '512');
  await page.selectOption('select[name=backend]', 'cpu');
  await page.click('#start');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('done'),
                             null, { timeout: 300_000 });
  await page.waitForSelector('#runs-table tr:nth-child(2)');
  const row = await page.locator('#runs-table tr').nth(1).textContent();
  assert.match(row, /adam lr 0\.003 · cosine, warm-up 1 · BatchNorm · shift 2 · rotation 10° · scale 0\.1/);
  assert.match(row, /CPU/);
  await page.reload();
  await mnistLoaded(page);
  await page.waitForSelector('#runs-table tr:nth-child(2)');
  await page.check('#runs-table input[type=radio]');
  assert.equal(await page.locator('#runs-table tr.overlaid').count(), 1);
  const legend = await page.locator('#chart .u-legend').textContent();
  assert.match(legend, /picked run: test accuracy/);
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#runs-download')]);
  const records = readFileSync(await file.path(), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(records.length, 1);
  assert.equal(records[0].config.model.batch_norm, true, 'the CLI\'s record format, settings in full');
  assert.equal(records[0].epochs, 1);
  mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
  await page.click('#augmentation summary');
  await page.screenshot({ path: join(ROOT, 'artifacts', 'page-toolkit.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});

test('continuing from weights of the other model variant is refused with both named', async () => {
  const reply = await page.evaluate(async () => {
    const weights = new Uint8Array(await (await fetch('pkg/mnist-cnn.kndl')).arrayBuffer());   // no BatchNorm
    const worker = new Worker('train-worker.js', { type: 'module' });
    const answer = new Promise((resolve) => {
      worker.onmessage = ({ data }) => {
        if (data.type === 'loaded') {
          worker.postMessage({ type: 'train', weights, settings: { epochs: 1, batch_size: 128, learning_rate: 0.001,
            seed: 1, limit: 256, backend: 'cpu', batch_norm: true } });
        }
        if (data.type === 'error' || data.type === 'failed' || data.type === 'started') resolve(data);
      };
    });
    const data = await answer;
    worker.terminate();
    return data;
  });
  assert.equal(reply.type, 'error', 'a refusal, not a crash');
  assert.equal(reply.kind, 'SettingsError');
  assert.match(reply.message, /for another model \(CNN conv 32\/64, dense 64\), not this one \(CNN conv 32\/64, dense 64, BatchNorm\)/);
});
