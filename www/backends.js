// Opening a training run on a backend, for the training worker and the benchmark worker. The
// WebGPU bundle (≈ 4× larger than the CPU one) is fetched only when a run uses WebGPU. Each
// bundle parses the worker's MNIST files once (its `Datasets`); every run takes a view of them.
import { Datasets, Training } from './pkg/cpu/kindling.js';

let gpuModule = null, gpuExports = null;
const parsed = {};   // backend → that bundle's Datasets

/** The four IDX files parsed by `backend`'s bundle, once per worker. */
export async function datasets(backend, files) {
  if (!parsed[backend]) {
    const Sets = backend === 'webgpu' ? (await gpuBundle()).Datasets : Datasets;
    parsed[backend] = new Sets(...files);
  }
  return parsed[backend];
}

/** A `Training` on 'cpu' or 'webgpu' on the four IDX files; `weights` (a weights file or a
 *  checkpoint) to start from, and a `teacher`'s weights make it a distillation. */
export async function openTraining(backend, files, settings, weights, teacher) {
  const json = JSON.stringify(settings);
  const sets = await datasets(backend, files);
  if (backend !== 'webgpu') return Training.cpu(sets, json, weights, teacher);
  return (await gpuBundle()).Training.webgpu(sets, json, weights, teacher);
}

/** Kindling's WebGPU kernels on (the default) or off for the runs opened after: the benchmark
 *  times burn's own ops beside them. */
export async function useWebGpuKernels(on) {
  (await gpuBundle()).useWebGpuKernels(on);
}

/** Bytes of the WebGPU bundle's wasm memory (the benchmark watches it stay flat). */
export async function gpuWasmBytes() {
  await gpuBundle();
  return gpuExports.memory.buffer.byteLength;
}

async function gpuBundle() {
  if (!gpuModule) {
    gpuModule = await import('./pkg/gpu/kindling.js');
    gpuExports = await gpuModule.default();
  }
  return gpuModule;
}
