// `./build.sh bench` in the browser: times training steps of the reference model (batch 128)
// on one backend, and single-image inference on the CPU. Driven by tests/e2e/bench.mjs.
import init, { Predictor, presetSettings } from './pkg/cpu/kindling.js';
import { datasets, openTraining, useWebGpuKernels } from './backends.js';
import { loadMnist } from './mnist.js';

const SETTINGS = { epochs: 1, batch_size: 128, learning_rate: 0.001, seed: 42 };

// `health`: measure the training's health every 10 steps, as the page does (the default).
async function timeTraining(backend, steps, files, settings = SETTINGS, health = true) {
  const training = await openTraining(backend, files, settings, undefined);
  training.watchHealth(health);
  let started = performance.now();
  await training.step();
  const first = (performance.now() - started) / 1000;
  await training.step();
  started = performance.now();
  for (let i = 0; i < steps; i++) await training.step();
  const perStep = (performance.now() - started) / 1000 / steps;
  training.free();
  return { first, perStep };
}

// The views inside the network at full tilt: a prediction worker asked for the activations and
// saliency of a digit again as soon as it answers, as if someone never stopped drawing. Returns
// a function that stops it and says how many it computed.
async function viewsUnderLoad(files) {
  const image = (await datasets('cpu', files)).testImage(0);
  const rgba = new Uint8ClampedArray(28 * 28 * 4);
  image.forEach((v, i) => { rgba.set([v, v, v, 255], 4 * i); });
  const worker = new Worker('predict-worker.js', { type: 'module' });
  let looks = 0, running = true;
  const ask = () => worker.postMessage({ type: 'predict', id: looks, rgba, width: 28, height: 28 });
  await new Promise((resolve) => {
    worker.onmessage = ({ data }) => {
      if (data.type === 'ready') { resolve(); ask(); }
      if (data.type === 'prediction') { looks++; if (running) ask(); }
    };
  });
  return () => { running = false; worker.terminate(); return looks; };
}

async function timeInference(files) {
  const weights = new Uint8Array(await (await fetch('pkg/mnist-cnn.kndl')).arrayBuffer());
  const predictor = new Predictor(weights);
  const image = (await datasets('cpu', files)).testImage(0);
  for (let i = 0; i < 20; i++) predictor.predict(image);
  const runs = 200, started = performance.now();
  for (let i = 0; i < runs; i++) predictor.predict(image);
  return (performance.now() - started) / runs;
}

self.onmessage = async ({ data }) => {
  try {
    await init();
    const { files } = await loadMnist();
    const result = { inferenceMs: await timeInference(files) };
    for (const [backend, steps] of Object.entries(data.steps)) {
      result[backend] = await timeTraining(backend, steps, files);
    }
    // What the views inside the network cost training: the health measurement in the step,
    // and a prediction worker computing activations and saliency on the other core.
    result.cpuNoHealth = await timeTraining('cpu', data.steps.cpu, files, SETTINGS, false);
    const stop = await viewsUnderLoad(files);
    result.cpuWithViews = await timeTraining('cpu', data.steps.cpu, files);
    result.cpuWithViews.looks = stop();
    if (data.steps.webgpu) {
      result.webgpuNoHealth = await timeTraining('webgpu', data.steps.webgpu, files, SETTINGS, false);
      // The same step with burn's own WebGPU ops instead of Kindling's kernels.
      await useWebGpuKernels(false);
      result.webgpuBurn = await timeTraining('webgpu', data.steps.webgpu, files);
      await useWebGpuKernels(true);
    }
    // The best preset on the CPU: BatchNorm and per-batch augmentation on top of the seed's step.
    const best = { ...SETTINGS, ...JSON.parse(presetSettings('best')) };
    result.cpuBest = await timeTraining('cpu', data.steps.cpu, files, best);
    self.postMessage(result);
  } catch (error) {
    self.postMessage({ error: error.message ?? String(error) });
  }
};
