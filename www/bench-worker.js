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

// Each network's steps on each backend, for the README's table of networks (a 60,000-image
// epoch is 469 of them).
async function timeNetworks(steps, files) {
  const networks = {};
  for (const network of ['rnn', 'autoencoder']) {
    networks[network] = {};
    for (const [backend, count] of Object.entries(steps)) {
      networks[network][backend] = await timeTraining(backend, Math.min(count, 10), files, { ...SETTINGS, network });
    }
  }
  return networks;
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
    if (data.only === 'networks') {   // the networks' steps alone, with the CNN's to compare
      const result = { networks: await timeNetworks(data.steps, files) };
      for (const [backend, steps] of Object.entries(data.steps)) result[backend] = await timeTraining(backend, steps, files);
      self.postMessage(result);
      return;
    }
    if (data.only) {   // one backend's steps, nothing else (the bench's views-under-load run)
      self.postMessage({ [data.only]: await timeTraining(data.only, data.steps[data.only], files) });
      return;
    }
    const result = { inferenceMs: await timeInference(files) };
    for (const [backend, steps] of Object.entries(data.steps)) {
      result[backend] = await timeTraining(backend, steps, files);
    }
    // What the health measurement costs a step: without and with it, side by side, twice, the
    // best of each (measured every 10th step on the CPU and every 50th on WebGPU: so many are timed).
    const health = async (backend, steps) => {
      const [without, with_] = [[], []];
      for (let i = 0; i < 2; i++) {
        without.push((await timeTraining(backend, steps, files, SETTINGS, false)).perStep);
        with_.push((await timeTraining(backend, steps, files)).perStep);
      }
      return { without: Math.min(...without), with: Math.min(...with_) };
    };
    result.cpuHealth = await health('cpu', Math.max(data.steps.cpu, 10));
    if (data.steps.webgpu) {
      result.webgpuHealth = await health('webgpu', Math.max(data.steps.webgpu, 50));
      // The same step with burn's own WebGPU ops instead of Kindling's kernels.
      await useWebGpuKernels(false);
      result.webgpuBurn = await timeTraining('webgpu', data.steps.webgpu, files);
      await useWebGpuKernels(true);
    }
    // The best preset on the CPU: BatchNorm and per-batch augmentation on top of the seed's step.
    const best = { ...SETTINGS, ...JSON.parse(presetSettings('best')) };
    result.cpuBest = await timeTraining('cpu', data.steps.cpu, files, best);
    result.networks = await timeNetworks(data.steps, files);
    self.postMessage(result);
  } catch (error) {
    self.postMessage({ error: error.message ?? String(error) });
  }
};
