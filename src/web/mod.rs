//! The browser's door: a thin `#[wasm_bindgen]` layer over the shared data, training and
//! inference code, for the Web Workers in `www/`. No model logic lives here.
//!
//! Results cross to JavaScript as JSON strings (a step report, an evaluation) or typed arrays
//! (probabilities, pixels, weights). Errors become JavaScript `Error`s with the same readable
//! messages the CLI prints.

use std::cell::RefCell;
use std::fmt::Display;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::data::{Dataset, Split, IMAGE_PIXELS};
use crate::inference;
use crate::metrics::Report;
use crate::model::Model;
use crate::preprocess;
use crate::recipe::RecipeSettings;
use crate::training::{evaluate, TrainError, Trainer, TrainingConfig};
use crate::weights::{self, WeightsHeader};

mod recipe;

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
        TrainError::Config(_) | TrainError::EmptyData => "SettingsError",
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

/// Runs a future that the CPU backend has already resolved (it computes eagerly), so that
/// predictions need no `await` in JavaScript.
fn now<F: Future>(future: F) -> Result<F::Output, JsError> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => Ok(value),
        Poll::Pending => Err(JsError::new("the CPU backend did not answer at once")),
    }
}

/// Reads the four IDX files (already inflated) and checks them with the same reader as the
/// CLI: a damaged file is refused with a message naming it.
fn datasets(files: [&[u8]; 4]) -> Result<(Dataset, Dataset), JsError> {
    let [train_images, train_labels, test_images, test_labels] = files;
    let read = |split: Split, images, labels| {
        let (images_file, labels_file) = split.file_names();
        Dataset::from_idx(images_file, images, labels_file, labels).map_err(js_error)
    };
    Ok((
        read(Split::Train, train_images, train_labels)?,
        read(Split::Test, test_images, test_labels)?,
    ))
}

/// What the page lets a user set for a run; everything else is the seed recipe.
#[derive(Deserialize)]
pub(crate) struct RunSettings {
    epochs: usize,
    batch_size: usize,
    seed: u64,
    /// Train on the first `limit` images only (0: all).
    limit: usize,
    /// Learning rate, optimizer, schedule, regularization, model variant, augmentation.
    #[serde(flatten)]
    recipe: RecipeSettings,
}

impl RunSettings {
    pub(crate) fn config(&self) -> TrainingConfig {
        (self.recipe)
            .apply(TrainingConfig::new())
            .with_epochs(self.epochs)
            .with_batch_size(self.batch_size)
            .with_seed(self.seed)
    }
}

/// The 28×28 MNIST-like input (ink bright on black) for an RGBA picture such as a canvas's
/// pixels or a decoded image file: cropped to the ink, fitted into 20×20, centred by mass.
#[wasm_bindgen(js_name = prepareImage)]
pub fn prepare_image(rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, JsError> {
    let gray = preprocess::rgba_to_gray(rgba, width, height).map_err(js_error)?;
    Ok(preprocess::to_mnist(&gray, width, height)
        .map_err(js_error)?
        .to_vec())
}

/// A model that answers predictions on the CPU: first the shipped weights, then whatever the
/// trainer sends. It lives in its own worker, so it never waits for a training step.
#[wasm_bindgen]
pub struct Predictor {
    model: Model,
    header: WeightsHeader,
    device: Device,
}

#[wasm_bindgen]
impl Predictor {
    #[wasm_bindgen(constructor)]
    pub fn new(weights: &[u8]) -> Result<Predictor, JsError> {
        let device = Device::flex();
        let (model, header) = weights::from_bytes(weights, &device).map_err(js_error)?;
        Ok(Predictor {
            model,
            header,
            device,
        })
    }

    /// Replaces the model with a weights file's; a damaged or foreign file is refused with a
    /// message and the current model stays. Returns the file's header as JSON.
    pub fn load(&mut self, weights: &[u8]) -> Result<String, JsError> {
        let (model, header) = weights::from_bytes(weights, &self.device).map_err(js_error)?;
        (self.model, self.header) = (model, header);
        Ok(self.header())
    }

    /// The current weights' header as JSON (dataset, epochs, test accuracy).
    pub fn header(&self) -> String {
        json(&self.header)
    }

    /// Ten probabilities for a 28×28 input from `prepareImage`.
    pub fn predict(&self, image: &[u8]) -> Result<Vec<f32>, JsError> {
        let image: &[u8; IMAGE_PIXELS] = image
            .try_into()
            .map_err(|_| JsError::new("an input must have 28×28 pixels"))?;
        let prediction = now(inference::predict(
            &self.model,
            image,
            self.header.normalization,
            &self.device,
        ))?
        .map_err(|e| JsError::new(&e))?;
        Ok(prediction.probabilities.to_vec())
    }
}

/// A training run: the trainer and the test set on one device. Steps are asynchronous (WebGPU
/// reads back asynchronously); the worker awaits each before the next.
#[wasm_bindgen]
pub struct Training {
    /// Taken out while a step runs, so an overlapping call is refused, not a panic.
    trainer: Rc<RefCell<Option<Trainer>>>,
    test: Rc<Dataset>,
    device: Device,
    backend: String,
}

#[derive(Serialize)]
struct StepJson {
    epoch: usize,
    step: usize,
    steps_per_epoch: usize,
    epochs: usize,
    loss: f32,
    /// The regularization penalty added to the loss (0 without).
    penalty: f32,
    learning_rate: f64,
    samples_seen: usize,
    epoch_done: bool,
    finished: bool,
}

#[derive(Serialize)]
struct EvaluationJson {
    loss: f32,
    accuracy: f32,
    /// The predicted class of the first `SHOWN` test images, for the results grid.
    predictions: Vec<u8>,
    /// Confusion matrix, per-class accuracy and the most confident mistakes.
    report: Report,
    /// The 28×28 pixels of each of the report's mistakes, in its order.
    mistake_images: Vec<Vec<u8>>,
    /// The confusion matrix as CSV, for the page's export.
    confusion_csv: String,
}

/// Mistakes the page shows after each epoch, most confident first.
const MISTAKES_SHOWN: usize = 24;

/// Test images whose predictions the page shows after each epoch.
const SHOWN: usize = 100;

#[wasm_bindgen]
impl Training {
    /// A run on the CPU (`flex`) from the four inflated IDX files and run settings (JSON),
    /// starting from `weights` when given (continue a saved run), else from fresh weights.
    pub fn cpu(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
        settings: &str,
        weights: Option<Vec<u8>>,
    ) -> Result<Training, JsValue> {
        let files = [train_images, train_labels, test_images, test_labels];
        Training::on(Device::flex(), "CPU".into(), files, settings, weights)
    }

    /// Bad settings, and weights to continue from that do not fit them (another model
    /// variant), are refused as a "SettingsError"; the worker stays usable.
    fn on(
        device: Device,
        backend: String,
        files: [&[u8]; 4],
        settings: &str,
        weights: Option<Vec<u8>>,
    ) -> Result<Training, JsValue> {
        let settings: RunSettings =
            serde_json::from_str(settings).map_err(|e| named_error("SettingsError", e))?;
        let config = settings.config();
        let (mut train, test) = datasets(files)?;
        if settings.limit > 0 {
            train = train.limit(settings.limit);
        }
        let trainer = match weights {
            Some(bytes) => {
                config.validate().map_err(training_error)?;
                let (model, _) = weights::from_bytes_for(&bytes, &config.model, &device)
                    .map_err(|e| named_error("SettingsError", format!("cannot continue: {e}")))?;
                Trainer::resume(config, train, &device, model)
            }
            None => Trainer::new(config, train, &device).map_err(training_error)?,
        };
        Ok(Training {
            trainer: Rc::new(RefCell::new(Some(trainer))),
            test: Rc::new(test),
            device,
            backend,
        })
    }

    /// "CPU", or the WebGPU adapter's description.
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Runs one optimizer step; resolves to the step report as JSON. A diverging loss rejects
    /// with an error named "Diverged", and the model keeps the weights from before that step.
    pub fn step(&self) -> js_sys::Promise {
        let cell = self.trainer.clone();
        future_to_promise(async move {
            let mut trainer = cell
                .borrow_mut()
                .take()
                .ok_or_else(|| JsError::new("a step is already running"))?;
            let result = trainer.step().await;
            let finished = trainer.finished();
            let epochs = trainer.config().epochs;
            *cell.borrow_mut() = Some(trainer);
            let report = result.map_err(training_error)?;
            Ok(JsValue::from(json(&StepJson {
                epoch: report.epoch,
                step: report.step,
                steps_per_epoch: report.steps_per_epoch,
                epochs,
                loss: report.loss,
                penalty: report.penalty,
                learning_rate: report.learning_rate,
                samples_seen: report.samples_seen,
                epoch_done: report.epoch_done,
                finished,
            })))
        })
    }

    /// Evaluates the current weights on the test set; resolves to JSON
    /// `{loss, accuracy, predictions, report, mistake_images}`.
    pub fn evaluate(&self) -> js_sys::Promise {
        let (cell, test, device) = (self.trainer.clone(), self.test.clone(), self.device.clone());
        future_to_promise(async move {
            let (model, normalization) =
                with_trainer(&cell, |t| (t.model(), t.config().normalization))?;
            let evaluation = evaluate(&model, &test, normalization, &device)
                .await
                .map_err(training_error)?;
            let shown = evaluation.predictions.len().min(SHOWN);
            let report = Report::new(&evaluation, test.labels(), MISTAKES_SHOWN);
            let mistake_images = (report.most_confident_mistakes.iter())
                .map(|m| test.image(m.index).to_vec())
                .collect();
            Ok(JsValue::from(json(&EvaluationJson {
                loss: evaluation.loss,
                accuracy: evaluation.accuracy,
                predictions: evaluation.predictions[..shown].to_vec(),
                confusion_csv: report.confusion_csv(),
                report,
                mistake_images,
            })))
        })
    }

    /// The current weights as a weights file (with the test accuracy when known); resolves to
    /// a `Uint8Array`. Asynchronous because WebGPU reads back asynchronously.
    pub fn save(&self, test_accuracy: Option<f32>) -> js_sys::Promise {
        let cell = self.trainer.clone();
        future_to_promise(async move {
            let (model, header) = with_trainer(&cell, |trainer| {
                let config = trainer.config();
                let header = WeightsHeader::new(
                    config.model.clone(),
                    config.normalization,
                    "mnist",
                    trainer.epochs_done(),
                    test_accuracy,
                );
                (trainer.model(), header)
            })?;
            let bytes = weights::to_bytes_async(&model, &header)
                .await
                .map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// The first test images (28×28 each, concatenated) and their labels, for the grid.
    #[wasm_bindgen(js_name = shownImages)]
    pub fn shown_images(&self) -> Vec<u8> {
        (0..self.test.len().min(SHOWN))
            .flat_map(|i| self.test.image(i).iter().copied())
            .collect()
    }

    #[wasm_bindgen(js_name = shownLabels)]
    pub fn shown_labels(&self) -> Vec<u8> {
        self.test.labels()[..self.test.len().min(SHOWN)].to_vec()
    }
}

/// `f` of the run's trainer, which a running step holds: then an error, not a panic.
fn with_trainer<T>(
    cell: &RefCell<Option<Trainer>>,
    f: impl FnOnce(&Trainer) -> T,
) -> Result<T, JsError> {
    let trainer = cell.borrow();
    trainer
        .as_ref()
        .map(f)
        .ok_or_else(|| JsError::new("a step is running"))
}

#[cfg(feature = "webgpu")]
thread_local! {
    /// burn registers one WebGPU device per worker and refuses a second: keep the first.
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

/// The worker's (or page's) WebGPU device, created on the first call.
#[cfg(feature = "webgpu")]
pub async fn webgpu_device() -> Result<Device, JsError> {
    use burn::tensor::wgpu::WgpuBackend;
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

#[cfg(feature = "webgpu")]
#[wasm_bindgen]
impl Training {
    /// `Training.cpu` on the browser's WebGPU device (created on the first call).
    pub async fn webgpu(
        train_images: Vec<u8>,
        train_labels: Vec<u8>,
        test_images: Vec<u8>,
        test_labels: Vec<u8>,
        settings: String,
        weights: Option<Vec<u8>>,
    ) -> Result<Training, JsValue> {
        let device = webgpu_device().await?;
        let files = [&train_images[..], &train_labels, &test_images, &test_labels];
        Training::on(device, "WebGPU".into(), files, &settings, weights)
    }
}
