// One table of good and bad values (tests/data/settings-cases.json), given to the command line
// (`kindling train --check`) and typed into the page's form: both must accept and refuse the
// same values with the same sentence, because both read Rust's settings table.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serveAndLaunch } from './browser.mjs';

const cases = JSON.parse(readFileSync(join(ROOT, 'tests/data/settings-cases.json'), 'utf8'));
const KINDLING = join(ROOT, 'target/release/kindling');
let session, page, schema;

// Rust's settings table, from the page's own wasm module.
const readSchema = () => page.evaluate(async () => {
  const kindling = await import('./pkg/cpu/kindling.js');
  await kindling.default();
  return JSON.parse(kindling.settingsSchema());
});

before(async () => {
  session = await serveAndLaunch();
  page = await session.browser.newPage();
  await page.goto(session.url);
  await page.waitForFunction(() => document.querySelector('small.why[data-for=epochs]'));
  schema = await readSchema();
});
after(() => session?.close());

// The command line's answer: '' when it accepts the value, else the sentence clap prints after
// naming the flag ("error: invalid value '0' for '--epochs <EPOCHS>': epochs must be …").
function cliAnswer(flag, value) {
  const run = spawnSync(KINDLING, ['train', '--check', `--${flag}=${value}`], { encoding: 'utf8' });
  if (run.status === 0) return '';
  const sentence = run.stderr.match(/for '--[^']+': (.*)$/m);
  assert.ok(sentence, `unexpected refusal of --${flag}=${value}: ${run.stderr}`);
  return sentence[1];
}

// The page's answer: the sentence shown beside the field once the value is typed in.
async function pageAnswer(name, value) {
  return page.evaluate(([name, value]) => {
    const form = document.getElementById('settings');
    const input = form.elements[name];
    if (input.dataset.when) form.elements[input.dataset.when].checked = true;
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    return form.querySelector(`small.why[data-for=${name}]`).textContent;
  }, [name, value]);
}

test('the command line and the page accept and refuse the same values in the same words', async () => {
  const flags = Object.fromEntries(schema.settings.map((s) => [s.name, s.flag]));
  for (const { setting, value, accepted } of cases) {
    const cli = cliAnswer(flags[setting], value);
    const shown = await pageAnswer(setting, value);
    assert.equal(shown, cli, `${setting} = ${JSON.stringify(value)}: page and command line differ`);
    assert.equal(cli === '', accepted, `${setting} = ${JSON.stringify(value)}: ${cli || 'accepted'}`);
    if (!accepted) assert.match(cli, /must be .*, got /);
  }
});

test('every number field of the form takes its default and range from Rust, none from the HTML', async () => {
  const html = readFileSync(join(ROOT, 'www/index.html'), 'utf8');
  const numberInputs = html.match(/<input [^>]*type="number"[^>]*>/g);
  assert.ok(numberInputs.length >= 25, `${numberInputs.length} number fields`);
  for (const input of numberInputs) assert.doesNotMatch(input, / (value|min|max)=/, input);
  await page.evaluate(() => document.getElementById('settings').reset());
  for (const setting of schema.settings) {
    if (!html.includes(`name="${setting.name}"`)) continue;   // a command-line-only setting
    assert.equal(await page.locator(`input[name=${setting.name}]`).inputValue(), String(setting.default), setting.name);
  }
});
