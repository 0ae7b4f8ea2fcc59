// Opening a training run on a backend, for the training worker and the benchmark worker. The
// WebGPU bundle (≈ 4× larger than the CPU one) is fetched only when a run uses WebGPU.
import { Training } from './pkg/cpu/kindling.js';

let gpuModule = null;

/** A `Training` on 'cpu' or 'webgpu' from the four IDX files; `weights` continue a run, and a
 *  `teacher`'s weights make it a distillation. */
export async function openTraining(backend, files, settings, weights, teacher) {
  const json = JSON.stringify(settings);
  if (backend !== 'webgpu') return Training.cpu(...files, json, weights, teacher);
  return (await gpuBundle()).Training.webgpu(...files, json, weights, teacher);
}

/** Kindling's WebGPU kernels on (the default) or off for the runs opened after: the benchmark
 *  times burn's own ops beside them. */
export async function useWebGpuKernels(on) {
  (await gpuBundle()).useWebGpuKernels(on);
}

async function gpuBundle() {
  if (!gpuModule) {
    gpuModule = await import('./pkg/gpu/kindling.js');
    await gpuModule.default();
  }
  return gpuModule;
}
