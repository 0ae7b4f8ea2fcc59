//! The browser's door: a thin `#[wasm_bindgen]` layer over the shared data, training and
//! inference code, for the Web Workers in `www/`. No model logic lives here.
//!
//! Results cross to JavaScript as JSON strings (a step report, an evaluation) or typed arrays
//! (probabilities, pixels, weights, checkpoints). Errors become JavaScript `Error`s with the
//! same readable messages the CLI prints, and a `name` saying what kind they are.

use std::fmt::Display;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::training::TrainError;

mod datasets;
mod reports;
mod training;
#[cfg(feature = "webgpu")]
mod webgpu;

pub use datasets::Datasets;
pub use training::Training;
#[cfg(feature = "webgpu")]
pub use webgpu::{use_webgpu_kernels, webgpu_device};

// The page's helpers live in the CPU bundle only (feature `page`): the WebGPU bundle is fetched
// for training alone and has no room to spare under its 3 MB.
#[cfg(feature = "page")]
mod inspect;
#[cfg(feature = "page")]
mod networks;
#[cfg(feature = "page")]
mod predict;
#[cfg(feature = "page")]
mod recipe;
#[cfg(feature = "page")]
mod settings;
#[cfg(feature = "page")]
pub use predict::{prepare_image, Predictor};

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn js_error(e: impl Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A training error whose `name` says what kind it is, so the worker can tell a diverged run
/// ("Diverged": the weights from before the step are kept) from a failed device ("DeviceError").
fn training_error(e: TrainError) -> JsValue {
    let name = match e {
        TrainError::Diverged { .. } => "Diverged",
        TrainError::Device(_) => "DeviceError",
        TrainError::Config(_)
        | TrainError::EmptyData
        | TrainError::Weights(_)
        | TrainError::Checkpoint(_) => "SettingsError",
    };
    named_error(name, e)
}

/// A JavaScript `Error` with `name` set, which the worker tells apart from a crash.
fn named_error(name: &str, message: impl Display) -> JsValue {
    let error = js_sys::Error::new(&message.to_string());
    error.set_name(name);
    error.into()
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// Milliseconds since 1970, the browser's clock.
fn now_ms() -> f64 {
    js_sys::Date::now()
}
