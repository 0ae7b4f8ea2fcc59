// Serves www/ on loopback and launches Debian's headless Chromium, for the page tests and the
// browser benchmark. WebGPU needs --enable-unsafe-webgpu (here it is SwiftShader, a software
// adapter); the network flags keep Chromium from calling out at start.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = new URL('../../', import.meta.url).pathname;

export async function serveAndLaunch() {
  const port = 8700 + Math.floor(Math.random() * 200);
  const url = `http://127.0.0.1:${port}/`;
  const server = spawn('python3', ['-m', 'http.server', '--bind', '127.0.0.1', '--directory', join(ROOT, 'www'),
                                   String(port)], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try { if ((await fetch(url)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--js-flags=--expose-gc',
           '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
  const close = async () => { await browser.close(); server.kill(); };
  return { url, browser, close };
}

/** Waits until the page has loaded MNIST (the Train button works from then on). */
export const mnistLoaded = (page) => page.waitForFunction(
  () => document.querySelector('#status').textContent.includes('MNIST loaded'), null, { timeout: 60_000 });

/** The page at 1280×800 with MNIST loaded; console errors and uncaught exceptions go to `errors`. */
export async function openLoadedPage(session, errors) {
  const page = await session.browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(session.url);
  await mnistLoaded(page);
  return page;
}

/** Draws on the drawing pad: each stroke a list of [x, y] points, as fractions of the pad's size. */
export async function drawOnPad(page, strokes) {
  const box = await page.locator('#pad').boundingBox();
  for (const [[x0, y0], ...rest] of strokes) {
    await page.mouse.move(box.x + box.width * x0, box.y + box.height * y0);
    await page.mouse.down();
    for (const [x, y] of rest) await page.mouse.move(box.x + box.width * x, box.y + box.height * y);
    await page.mouse.up();
  }
}

/** Fills the settings form: `backend` is the device menu, every other name a number field. */
export async function setSettings(page, settings) {
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'backend') await page.selectOption('select[name=backend]', value);
    else await page.fill(`input[name=${name}]`, String(value));
  }
}

/** Waits until `selector`'s text matches `pattern`. */
export const waitForText = (page, selector, pattern, timeout = 60_000) => page.waitForFunction(
  ([s, source]) => new RegExp(source).test(document.querySelector(s)?.textContent ?? ''), [selector, pattern.source],
  { timeout });

/** A canvas's pixels: how many are coloured (not grey), how many neither white nor near black,
 * and the picture itself, to compare. */
export const canvasPixels = (page, id) => page.evaluate((id) => {
  const canvas = document.getElementById(id);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let coloured = 0, lit = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (Math.abs(r - g) + Math.abs(g - b) > 30) coloured += 1;
    if (r + g + b > 60 && r + g + b < 765) lit += 1;
  }
  return { coloured, lit, url: canvas.toDataURL() };
}, id);

/** A "7" for drawOnPad: a bar across the top, then a stroke down to the left. */
export const SEVEN = [[...Array.from({ length: 11 }, (_, i) => [0.3 + 0.04 * i, 0.25 - 0.005 * i]),
  ...Array.from({ length: 10 }, (_, i) => [0.68 - 0.02 * i, 0.26 + 0.06 * i])]];
