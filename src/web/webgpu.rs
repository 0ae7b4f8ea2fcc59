//! The WebGPU bundle's device: one per worker, created on the first run that asks for it.

use std::cell::RefCell;

use burn::tensor::wgpu::WgpuBackend;
use burn::tensor::Device;
use wasm_bindgen::prelude::*;

use super::{Datasets, Training};

thread_local! {
    /// burn registers one WebGPU device per worker and refuses a second: keep the first.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

/// The worker's (or page's) WebGPU device, created on the first call.
pub async fn webgpu_device() -> Result<Device, JsError> {
    if let Some(device) = WEBGPU.with(|d| d.borrow().clone()) {
        return Ok(device);
    }
    let device = Device::wgpu_options()
        .graphics_api(WgpuBackend::WebGpu)
        .init_async()
        .await
        .map_err(|e| JsError::new(&format!("WebGPU did not start: {e}")))?;
    WEBGPU.with(|d| *d.borrow_mut() = Some(device.clone()));
    Ok(device)
}

/// Turns Kindling's WebGPU kernels off (or back on) for the runs opened after, so the
/// benchmark can time burn's own ops beside them on the same adapter.
#[wasm_bindgen(js_name = useWebGpuKernels)]
pub fn use_webgpu_kernels(on: bool) {
    crate::kernels::gpu::set_enabled(on);
}

#[wasm_bindgen]
impl Training {
    /// `Training.cpu` on the browser's WebGPU device (created on the first call); resolves
    /// to the `Training`.
    pub fn webgpu(
        datasets: &Datasets,
        settings: String,
        weights: Option<Vec<u8>>,
        teacher: Option<Vec<u8>>,
    ) -> js_sys::Promise {
        // Views of the worker's datasets (no copy), since the future outlives the borrow.
        let sets = datasets.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let device = webgpu_device().await?;
            let training = Training::on(device, "WebGPU", &sets, &settings, [weights, teacher])?;
            Ok(training.into())
        })
    }
}
