// `./build.sh bench`'s memory check: a long run on each backend as the page's worker drives it
// (a small batch, the weights saved every so often, an evaluation and a checkpoint each epoch),
// with the wasm memory and the live GPU buffers measured after the first step, after the first
// epoch (pools warmed) and at the end. Neither may grow over the run. Driven by tests/e2e/bench.mjs.
import init from './pkg/cpu/kindling.js';
import { gpuWasmBytes, openTraining } from './backends.js';
import { loadMnist } from './mnist.js';

const BATCH = 8, IMAGES = 8000;   // 1,000 steps an epoch
const SAVE_EVERY = 250;            // steps between weights saves, as the page's 2 s would be

// Live GPU buffer bytes, counted from every buffer the WebGPU bundle creates and destroys.
let gpuBytes = 0;
if (self.GPUDevice) {
  const live = new WeakSet();
  const createBuffer = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function (descriptor) {
    const buffer = createBuffer.call(this, descriptor);
    live.add(buffer);
    gpuBytes += buffer.size;
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function () {
    if (live.delete(this)) gpuBytes -= this.size;
    return destroy.call(this);
  };
}

async function longRun(backend, steps, files, wasmBytes) {
  const epochs = Math.ceil(steps / (IMAGES / BATCH));
  const settings = { epochs, batch_size: BATCH, limit: IMAGES, seed: 1 };
  const training = await openTraining(backend, files, settings, undefined);
  const sample = async () => ({ wasm: await wasmBytes(), gpu: gpuBytes });
  const marks = {};
  const started = performance.now();
  for (let step = 1; step <= steps; step++) {
    const report = JSON.parse(await training.step());
    if (step % SAVE_EVERY === 0) await training.save();
    if (report.epoch_done) {
      await training.evaluate();
      await training.checkpoint();
    }
    if (step === 1) marks.first = await sample();
    if (report.epoch_done && !marks.warm) marks.warm = await sample();
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
    if (data.cpu) result.cpu = await longRun('cpu', data.cpu, files, async () => cpu.memory.buffer.byteLength);
    if (data.webgpu) result.webgpu = await longRun('webgpu', data.webgpu, files, gpuWasmBytes);
    self.postMessage(result);
  } catch (error) {
    self.postMessage({ error: error.message ?? String(error) });
  }
};
