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
