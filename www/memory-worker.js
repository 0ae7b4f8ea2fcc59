// `./build.sh bench`'s memory check: a long run on each backend as the page's worker drives it
// (batch 8, the weights saved every so often, an evaluation and a checkpoint each epoch), with
// the wasm memory and the live GPU buffers measured after the first step, after each epoch and
// at the end. Driven by tests/e2e/bench.mjs.
import init from './pkg/cpu/kindling.js';
import { gpuWasmBytes, openTraining } from './backends.js';
import { loadMnist } from './mnist.js';

const BATCH = 8;
const SAVE_EVERY = 250;            // steps between weights saves, as the page's 2 s would be

// Live GPU buffer bytes: every buffer the WebGPU bundle creates, less those destroyed and those
// the JavaScript garbage collector has freed (a dropped buffer need not be destroyed). With
// Chromium's --js-flags=--expose-gc, each sample collects garbage first.
let gpuBytes = 0;
if (self.GPUDevice) {
  const live = new WeakSet();
  const collected = new FinalizationRegistry((size) => { gpuBytes -= size; });
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (descriptor) {
    const buffer = createBuffer.call(this, descriptor);
    live.add(buffer);
    gpuBytes += buffer.size;
    collected.register(buffer, buffer.size, buffer);
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    if (live.delete(this)) {
      gpuBytes -= this.size;
      collected.unregister(this);
    }
    return destroy.call(this);
  };
}
const settle = async () => {
  self.gc?.();
  await new Promise((resolve) => setTimeout(resolve, 50));   // finalizers run after a turn
};

// `skip` ('evaluate', 'checkpoint') leaves a part of each epoch out, to find what grows.
async function longRun(backend, steps, images, files, wasmBytes, skip = []) {
  const epochs = Math.ceil(steps / (images / BATCH));
  const settings = { epochs, batch_size: BATCH, limit: images, seed: 1 };
  const training = await openTraining(backend, files, settings, undefined);
  const sample = async () => { await settle(); return { wasm: await wasmBytes(), gpu: gpuBytes }; };
  const marks = { epochs: [] };   // after the first step, after each epoch, at the end
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const report = JSON.parse(await training.step());
    if (step % SAVE_EVERY === 0) await training.save();
    if (report.epoch_done) {
      if (!skip.includes('evaluate')) await training.evaluate();
      if (!skip.includes('checkpoint')) await training.checkpoint();
      marks.epochs.push(await sample());
    }
    if (step === 1) marks.first = await sample();
    if (report.finished) break;
  }
  marks.end = await sample();
  training.free();
  return { ...marks, steps, seconds: (performance.now() - started) / 1000 };
}

self.onmessage = async ({ data }) => {
  try {
    const cpu = await init();
    const { files } = await loadMnist();
    const result = {};
    const wasmBytes = async () => cpu.memory.buffer.byteLength;
    if (data.cpu) result.cpu = await longRun('cpu', data.cpu, data.images, files, wasmBytes);
    if (data.webgpu) result.webgpu = await longRun('webgpu', data.webgpu, data.images, files, gpuWasmBytes, data.skip);
    self.postMessage(result);
  } catch (error) {
    self.postMessage({ error: error.message ?? String(error) });
  }
};
