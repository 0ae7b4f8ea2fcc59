// The recipe options in the page (issue 4): the optimizer, schedule and regularization fields,
// their validation, a run that uses them, and the evaluation views after it. Run by `./build.sh test`.
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
  await page.click('#recipe summary');
});

after(async () => {
  await session?.close();
});

const visible = (name) => page.locator(`input[name=${name}]`).isVisible();
const value = (name) => page.locator(`input[name=${name}]`).inputValue();

test('each optimizer shows its own settings and brings its learning rate', async () => {
  assert.ok(await visible('beta1'), 'Adam, the default, shows its betas');
  assert.ok(!(await visible('momentum')));
  await page.selectOption('select[name=optimizer]', 'momentum');
  assert.ok(await visible('momentum'));
  assert.ok(!(await visible('beta1')));
  assert.equal(await value('learning_rate'), '0.01');
  await page.selectOption('select[name=optimizer]', 'adamw');
  assert.equal(await value('weight_decay'), '0.004');
  await page.selectOption('select[name=optimizer]', 'gd');
  assert.match(await page.locator('#recipe-note').textContent(), /once per epoch/);
  await page.selectOption('select[name=schedule]', 'cosine');
  assert.ok(await visible('warmup'));
  assert.ok(!(await visible('decay_factor')));
});

test('out-of-range recipe settings are refused next to the form', async () => {
  await page.selectOption('select[name=optimizer]', 'momentum');
  await page.fill('input[name=momentum]', '1.5');
  await page.fill('input[name=l2]', '-1');
  await page.click('#start');
  const message = await page.locator('#settings-error').textContent();
  assert.match(message, /momentum must be a number in \[0, 1\), got 1.5/);
  assert.match(message, /L2 penalty must be a number from 0 to 1, got -1/);
  assert.ok(await page.locator('#pause').isDisabled(), 'training did not start');
  await page.fill('input[name=momentum]', '0.9');
  await page.fill('input[name=l2]', '0');
  assert.equal(await page.locator('#settings-error').textContent(), '');
});

test('a run with momentum, a step schedule and an L2 penalty reports and plots them', async () => {
  await page.selectOption('select[name=optimizer]', 'nesterov');
  await page.selectOption('select[name=schedule]', 'step');
  await page.fill('input[name=decay_every]', '1');
  await page.fill('input[name=l2]', '0.001');
  await page.fill('input[name=epochs]', '2');
  await page.fill('input[name=limit]', '512');   // 4 steps an epoch
  await page.selectOption('select[name=backend]', 'cpu');
  await page.click('#start');
  await page.waitForFunction(() => document.querySelector('#status').textContent.includes('done'),
                             null, { timeout: 300_000 });
  const status = await page.locator('#status').textContent();
  assert.match(status, /epoch 2\/2/);
  assert.match(status, /\+ penalty 0\.\d{4}/, 'the L2 term is shown beside the loss');
  assert.match(status, /lr 0\.00500/, 'the learning rate halved after the first epoch');
  const penaltyPoints = await page.evaluate(() => document.querySelectorAll('#chart .u-legend .u-series').length);
  assert.equal(penaltyPoints, 8, 'x, step loss, smoothed, test loss, test accuracy, the penalty and a picked run\'s two');
  mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
  await page.screenshot({ path: join(ROOT, 'artifacts', 'page-recipe.png'), fullPage: true });
  assert.deepEqual(consoleErrors, []);
});

test('after each epoch the page shows the confusion matrix and the most confident mistakes, and exports them', async () => {
  // The run of the test above ended after epoch 2.
  assert.ok(await page.locator('#views').isVisible());
  const counts = await page.$$eval('#confusion tr', (rows) => rows.slice(1).map(
    (tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent || 0))));
  assert.equal(counts.length, 10);
  assert.equal(counts.flat().reduce((a, b) => a + b, 0), 10_000, 'every test image in one cell');
  const mistakes = await page.locator('#mistakes figure').count();
  assert.ok(mistakes > 0 && mistakes <= 24, `${mistakes} mistakes shown`);
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const text = readFileSync(await csv.path(), 'utf8');
  assert.equal(text.split('\n')[0], 'label,0,1,2,3,4,5,6,7,8,9,accuracy');
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const report = JSON.parse(readFileSync(await json.path(), 'utf8'));
  assert.deepEqual(report.confusion, counts);
  await page.locator('#results').screenshot({ path: join(ROOT, 'artifacts', 'page-evaluation.png') });
  assert.deepEqual(consoleErrors, []);
});
