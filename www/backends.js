// Opening a training run on a backend, for the training worker and the benchmark worker. The
// WebGPU bundle (≈ 4× larger than the CPU one) is fetched only when a run uses WebGPU.
import { Training } from './pkg/cpu/kindling.js';

let gpuModule = null;

/** A `Training` on 'cpu' or 'webgpu' from the four IDX files; `weights` continue a run, and a
 *  `teacher`'s weights make it a distillation. */
export async function openTraining(backend, files, settings, weights, teacher) {
  const json = JSON.stringify(settings);
  if (backend !== 'webgpu') return Training.cpu(...files, json, weights, teacher);
  if (!gpuModule) {
    gpuModule = await import('./pkg/gpu/kindling.js');
    await gpuModule.default();
  }
  return gpuModule.Training.webgpu(...files, json, weights, teacher);
}
