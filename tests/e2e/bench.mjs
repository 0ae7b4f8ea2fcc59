// The browser half of `./build.sh bench`: what the page downloads before a first prediction
// (gzip sizes), training steps of the reference model in headless Chromium on the CPU bundle and
// on WebGPU, and one-image inference. Usage: node tests/e2e/bench.mjs [cpu steps] [webgpu steps]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, serveAndLaunch } from './browser.mjs';

// Everything the page fetches before it can answer a drawing: the page, its modules, the
// prediction worker, the CPU bundle and the shipped weights (MNIST is fetched only to train).
const FIRST_PREDICTION = [
  'index.html', 'style.css', 'app.js', 'chart.js', 'pad.js', 'store.js', 'mnist.js', 'backends.js',
  'vendor/uPlot.esm.js', 'vendor/uPlot.min.css', 'predict-worker.js', 'train-worker.js',
  'pkg/cpu/kindling.js', 'pkg/cpu/kindling_bg.wasm', 'pkg/mnist-cnn.kndl',
];
const GPU_BUNDLE = ['pkg/gpu/kindling.js', 'pkg/gpu/kindling_bg.wasm'];
const gz = (files) => files.reduce((sum, f) => sum + gzipSync(readFileSync(join(ROOT, 'www', f)), { level: 9 }).length, 0);
const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;

const [cpuSteps = 20, gpuSteps = 2] = process.argv.slice(2).map(Number);
console.log('browser (headless Chromium), reference model, batch 128:');
console.log(`  download before the first prediction  ${mb(gz(FIRST_PREDICTION))} gzipped (target ≤ 1 MB)`);
console.log(`  WebGPU bundle, fetched when used      ${mb(gz(GPU_BUNDLE))} gzipped (target ≤ 3 MB)`);

const { url, browser, close } = await serveAndLaunch();
try {
  const page = await browser.newPage();
  await page.goto(`${url}bench.html`);
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    return a ? `${a.info.vendor} ${a.info.architecture}${a.info.isFallbackAdapter ? ' (software fallback)' : ''}` : null;
  });
  const steps = adapter ? { cpu: cpuSteps, webgpu: gpuSteps } : { cpu: cpuSteps };
  const result = await page.evaluate((steps) => new Promise((resolve) => {
    const worker = new Worker('bench-worker.js', { type: 'module' });
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (e) => resolve({ error: e.message });
    worker.postMessage({ steps });
  }), steps);
  if (result.error) throw new Error(result.error);
  console.log(`  CPU (flex, wasm SIMD, 1 thread)       ${result.cpu.perStep.toFixed(3)} s per step`
              + ` (first ${result.cpu.first.toFixed(2)} s; target ≤ 0.14 s; TF.js cannot train on wasm)`);
  if (result.webgpu) {
    console.log(`  WebGPU on ${adapter}  ${result.webgpu.perStep.toFixed(2)} s per step`
                + ` (first ${result.webgpu.first.toFixed(1)} s; target ≤ 1.75 s; TF.js 3.5 s on WebGL)`);
  } else {
    console.log('  WebGPU                                no adapter in this browser');
  }
  console.log(`  inference, 1 image (CPU)              ${result.inferenceMs.toFixed(2)} ms (target ≤ 5 ms)`);
} finally {
  await close();
}
