// The "Inside the network" panel in headless Chromium: a drawn digit's activations and saliency
// maps, another class's map, the SmoothGrad and occlusion check, the embedding map's hover, and
// what a short CPU run changes (filters, the map after epoch 1, the health chart, gradient
// clipping). Screenshots of the panel go to artifacts/ (inside-desktop.png, inside-phone.png,
// and inside-the-network.png, the crop that docs/ keeps for the README).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { canvasPixels, drawOnPad, openLoadedPage, ROOT, serveAndLaunch, setSettings, SEVEN, waitForText as waitForTextOn } from './browser.mjs';

const ARTIFACTS = join(ROOT, 'artifacts');

let session, page;
const consoleErrors = [];

before(async () => {
  session = await serveAndLaunch();
  page = await openLoadedPage(session, consoleErrors);
});

after(async () => {
  await session?.close();
});

const text = (selector) => page.locator(selector).textContent();
const waitForText = (selector, pattern, timeout = 60_000) => waitForTextOn(page, selector, pattern, timeout);

const pixels = (id) => canvasPixels(page, id);

test('the shipped weights\' filters and embedding map are drawn at once', async () => {
  await waitForText('#embedding-caption', /^The shipped weights: the first 2,000 test images/);
  assert.match(await text('#embedding-caption'), /explain \d+% and \d+% of its variance\. \d+ of them are misread .*2,000 forward passes/);
  assert.match(await text('#filters1-caption'), /conv1: 32 kernels of 3×3; scale ±0\.\d+/);
  assert.match(await text('#filters2-caption'), /conv2: 64 rows .* × 32 slices/);
  assert.ok((await pixels('filters1')).coloured > 100, 'conv1\'s filters are drawn');
  assert.equal(await page.locator('#histograms figure').count(), 4, 'a histogram per layer');
  assert.match(await text('#health-thresholds'), /every 10 steps on the CPU and every 50 on WebGPU.*below 1e-6 \(vanishing\).*exceeds 100 \(exploding\).*more than 10% \(large updates\)\.$/);
});

test('a drawn digit shows each layer\'s output and a saliency map', async () => {
  await drawOnPad(page, SEVEN);
  await waitForText('#prediction', /^It reads/);
  await waitForText('#act-cost', /^Cost: 1 forward pass for all of these/);
  assert.ok(await page.locator('#network').isVisible());
  assert.match(await text('#act-block1-caption'), /block 1: 32 maps 13×13/);
  assert.match(await text('#act-block2-caption'), /block 2: 64 maps 5×5/);
  for (const id of ['act-block1', 'act-block2', 'act-hidden']) {
    assert.ok((await pixels(id)).lit > 10, `${id} is not blank`);
  }
  assert.ok((await pixels('saliency')).coloured > 50, 'the saliency map is drawn over the digit');
  assert.match(await text('#saliency-method'), /gradient of the class score .* Cost: 1 forward \+ 1 backward pass/);
  // A click on a map enlarges it.
  await page.click('#act-block1', { position: { x: 40, y: 12 } });
  await waitForText('#act-zoom-caption', /^conv1 map \d+ of 32, 13×13 after pooling/);
  assert.ok((await pixels('act-zoom-map')).lit > 10, 'the enlarged map is drawn');
});

test('another class gets its own saliency map', async () => {
  const answer = Number(await page.locator('#classes button.answer').textContent());
  const other = answer === 3 ? 8 : 3;
  const before = await pixels('saliency');
  await page.click(`#classes button:nth-child(${other + 1})`);
  await waitForText('#saliency-caption', new RegExp(`^What would make it a ${other} \\(the answer is ${answer}\\)`));
  assert.equal(await page.getAttribute(`#classes button:nth-child(${other + 1})`, 'aria-pressed'), 'true');
  const after = await pixels('saliency');
  assert.ok(after.coloured > 50, 'the new map is drawn');
  assert.notEqual(after.url, before.url, 'and differs from the answer\'s');
});

test('SmoothGrad and occlusion check the saliency map, with their agreement', async () => {
  // The answer's button goes back to the answer's map.
  await page.click('#classes button.answer');
  await waitForText('#saliency-caption', /^Saliency of \d, the answer/);
  await page.click('#explain');
  await waitForText('#agreement', /^agreement r = -?\d\.\d\d/);
  assert.ok(await page.locator('#explanation').isVisible());
  assert.match(await text('#smoothgrad-caption'), /16 forward \+ 16 backward passes/);
  assert.match(await text('#occlusion-caption'), /65 forward passes/);
  assert.ok((await pixels('smoothgrad')).coloured > 50 && (await pixels('occlusion')).coloured > 20);
});

test('hovering the embedding map shows a test digit with its label and answer', async () => {
  // Tall enough to show the panel down to the map unscrolled, for the README's picture below.
  await page.setViewportSize({ width: 1280, height: 2600 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator('#embedding').boundingBox();
  let shown = false;
  for (let i = 0; i < 60 && !shown; i++) {
    await page.mouse.move(box.x + box.width * (0.2 + 0.6 * ((i * 7) % 11) / 10), box.y + box.height * (0.2 + 0.6 * (i % 6) / 5));
    shown = await page.locator('#embedding-tip').isVisible();
  }
  assert.ok(shown, 'a point\'s digit appears');
  assert.match(await text('#embedding-tip-caption'), /^a \d, (read|misread) as \d$/);
  assert.ok((await pixels('embedding-digit')).lit > 20, 'the digit is drawn');
  // The README's picture (docs/inside-the-network.png): the shipped weights' views of the drawing
  // and the embedding map, the hovered digit showing.
  mkdirSync(ARTIFACTS, { recursive: true });
  const clip = await page.evaluate(() => {
    const panel = document.querySelector('#inside').getBoundingClientRect();
    const map = document.querySelector('#embedding-view').getBoundingClientRect();
    return { x: panel.x, y: panel.y + window.scrollY, width: panel.width, height: map.bottom - panel.y + 8 };
  });
  await page.screenshot({ path: join(ARTIFACTS, 'inside-the-network.png'), clip });
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('a short CPU run changes the filters, maps the test set after epoch 1 and charts its health', async () => {
  const filters = await pixels('filters1');
  await setSettings(page, { epochs: 1, limit: 1280, backend: 'cpu' });   // 10 steps
  // Clipping at a norm the gradient always exceeds: each measured step says it was clipped.
  await page.click('#recipe summary');
  await page.check('input[name=clip_on]');
  assert.ok(await page.locator('input[name=clip_norm]').isVisible(), 'ticking shows the norm');
  await page.fill('input[name=clip_norm]', '0.01');
  await page.click('#start');
  await waitForText('#embedding-caption', /^The run's weights after epoch 1: /, 300_000);
  await waitForText('#status', /done/, 300_000);
  assert.notEqual((await pixels('filters1')).url, filters.url, 'the filters changed');
  assert.match(await text('#filters-source'), /the run's weights in epoch 1/);
  const points = await page.evaluate(() => Number(document.querySelector('#health-chart').dataset.points));
  assert.ok(points >= 2, `health measured at ${points} steps (step 1 and step 10)`);
  assert.ok(await page.locator('#health-chart canvas').count() > 0, 'the health chart is drawn');
  assert.match(await text('#health-caption'), /^Measured every 10 steps, at \d+ so far; at step 10 the whole gradient's norm was .*, clipped\./);
  assert.match(await text('#health-warnings'), /The gradient was clipped at \d+ of \d+ measured steps/);
  const after = await page.evaluate(() => Number(document.querySelector('#health-chart').dataset.afterClipping));
  assert.equal(after, 0.01, 'the chart draws the gradient after clipping at the norm set');
  assert.match(await page.locator('#histograms figcaption').first().textContent(), /conv1: weights from/);
  // The drawing follows the run's weights: its views, and the check asked again for the answer.
  await page.click('#classes button.answer');
  await waitForText('#saliency-caption', /the answer:/);
  await page.click('#act-block1', { position: { x: 40, y: 12 } });
  await page.click('#explain');
  await waitForText('#agreement', /with the run's weights in epoch 1\.$/);
  assert.deepEqual(consoleErrors, []);
});

test('the panel fits desktop and phone widths (screenshots)', async () => {
  const panel = page.locator('#inside');
  await panel.screenshot({ path: join(ARTIFACTS, 'inside-desktop.png') });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => document.querySelector('#inside').clientWidth < 390);
  await page.waitForTimeout(500);   // the charts follow their boxes' sizes
  const wide = await page.evaluate(() => [...document.querySelectorAll('#inside *')]
    .filter((e) => e.getBoundingClientRect().right > 390.5).map((e) => `${e.tagName}#${e.id}.${e.className}`));
  assert.deepEqual(wide, [], 'nothing in the panel is wider than a phone');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= 390, 'nor is the page');
  await panel.screenshot({ path: join(ARTIFACTS, 'inside-phone.png') });
  await page.setViewportSize({ width: 1280, height: 800 });
  assert.deepEqual(consoleErrors, []);
});
