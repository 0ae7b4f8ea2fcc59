//! The browser's door: a thin `#[wasm_bindgen]` layer over the shared data, training and
//! inference code, for the Web Workers in `www/`. No model logic lives here.
//!
//! Results cross to JavaScript as JSON strings (a step report, an evaluation) or typed arrays
//! (probabilities, pixels, weights). Errors become JavaScript `Error`s with the same readable
//! messages the CLI prints.

use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::rc::Rc;

use burn::tensor::Device;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::checkpoint::{self, Checkpoint};
use crate::data::{Dataset, Split};
use crate::energy::EnergySettings;
use crate::ledger::CostReport;
use crate::metrics::Report;
use crate::recipe::RunSettings;
use crate::training::{evaluate, Start, TrainError, Trainer};
use crate::weights::{self, WeightsHeader};

// The page's helpers live in the CPU bundle only (feature `page`): the WebGPU bundle is fetched
// for training alone and has no room to spare under its 3 MB.
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

/// A training run: the trainer and the test set on one device. Steps are asynchronous (WebGPU
/// reads back asynchronously); the worker awaits each before the next.
#[wasm_bindgen]
pub struct Training {
    /// Taken out while a step runs, so an overlapping call is refused, not a panic.
    trainer: Rc<RefCell<Option<Trainer>>>,
    test: Rc<Dataset>,
    device: Device,
    backend: String,
    energy: EnergySettings,
    /// Milliseconds spent in steps and evaluations: the time the device worked, without
    /// pauses, which the energy estimate multiplies.
    busy_ms: Rc<Cell<f64>>,
}

/// Milliseconds since 1970, the browser's clock.
fn now_ms() -> f64 {
    js_sys::Date::now()
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
    /// What the run has spent so far.
    cost: CostReport,
}

#[derive(Serialize)]
struct EvaluationJson {
    loss: f32,
    accuracy: f32,
    /// Why early stopping ends the run here, if it does.
    stop: Option<String>,
    /// What the run has spent, this evaluation included.
    cost: CostReport,
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
    /// distilling from `teacher`'s weights when given. `weights`, when given, is either a
    /// weights file (a new run on those weights, with a fresh optimizer and the settings given)
    /// or a checkpoint from [`Training::checkpoint`], told apart by their first bytes: the run
    /// then continues exactly where it stopped, with the checkpoint's settings and training
    /// images. Its settings may be `"{}"`, or name only settings equal to the checkpoint's,
    /// but for `epochs`, which may grow.
    pub fn cpu(
        train_images: &[u8],
        train_labels: &[u8],
        test_images: &[u8],
        test_labels: &[u8],
        settings: &str,
        weights: Option<Vec<u8>>,
        teacher: Option<Vec<u8>>,
    ) -> Result<Training, JsValue> {
        let files = [train_images, train_labels, test_images, test_labels];
        Training::on(
            Device::flex(),
            "CPU".into(),
            files,
            settings,
            [weights, teacher],
        )
    }

    /// Bad settings, and weights to continue from that do not fit them (another model
    /// variant), are refused as a "SettingsError"; the worker stays usable.
    fn on(
        device: Device,
        backend: String,
        files: [&[u8]; 4],
        settings: &str,
        [weights, teacher]: [Option<Vec<u8>>; 2],
    ) -> Result<Training, JsValue> {
        let settings: RunSettings =
            serde_json::from_str(settings).map_err(|e| named_error("SettingsError", e))?;
        let checkpoint = match &weights {
            Some(bytes) if checkpoint::is_checkpoint(bytes) => {
                Some(checkpoint::from_bytes(bytes).map_err(|e| named_error("SettingsError", e))?)
            }
            _ => None,
        };
        let (config, limit) = match &checkpoint {
            // The settings given over the checkpoint's; `Trainer::open` refuses any change
            // but a longer run.
            Some(c) => (
                settings.apply(c.header.config.clone()),
                settings.limit.or(Some(c.header.train_images)),
            ),
            None => {
                let distill = teacher.as_ref().map(|_| settings.recipe.distill());
                (settings.config().with_distill(distill), settings.limit)
            }
        };
        (settings.validate(&config)).map_err(|e| named_error("SettingsError", e))?;
        let energy = settings.energy.clone().unwrap_or_default();
        (config.compute.check_device(&device)).map_err(|e| named_error("SettingsError", e))?;
        let (mut train, test) = datasets(files)?;
        if let Some(limit) = limit {
            train = train.limit(limit);
        }
        let start = match (checkpoint, &weights) {
            (Some(checkpoint), _) => Start::Checkpoint(checkpoint),
            (None, Some(bytes)) => Start::Weights(bytes),
            (None, None) => Start::Fresh,
        };
        let trainer = Trainer::open(config, train, &device, start).map_err(training_error)?;
        let trainer = match teacher {
            None => trainer,
            Some(bytes) => {
                let (teacher, header) = weights::from_bytes(&bytes, &device)
                    .map_err(|e| named_error("SettingsError", format!("the teacher: {e}")))?;
                trainer
                    .with_teacher(teacher, &header.model)
                    .map_err(training_error)?
            }
        };
        Ok(Training {
            trainer: Rc::new(RefCell::new(Some(trainer))),
            test: Rc::new(test),
            device,
            backend,
            energy,
            busy_ms: Rc::new(Cell::new(0.0)),
        })
    }

    /// "CPU", or the WebGPU adapter's description.
    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// Runs one optimizer step; resolves to the step report as JSON. A diverging loss rejects
    /// with an error named "Diverged", and the model keeps the weights from before that step.
    pub fn step(&self) -> js_sys::Promise {
        let (cell, busy, energy) = (
            self.trainer.clone(),
            self.busy_ms.clone(),
            self.energy.clone(),
        );
        future_to_promise(async move {
            let mut trainer = cell
                .borrow_mut()
                .take()
                .ok_or_else(|| JsError::new("a step is already running"))?;
            let started = now_ms();
            let result = trainer.step().await;
            busy.set(busy.get() + now_ms() - started);
            let finished = trainer.finished();
            let epochs = trainer.config().epochs;
            let cost = trainer.cost(busy.get() / 1e3, &energy);
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
                cost,
            })))
        })
    }

    /// Evaluates the current weights on the test set and records it in the run's ledger
    /// (milestones, early stopping); resolves to JSON
    /// `{loss, accuracy, stop, cost, predictions, report, mistake_images}`.
    pub fn evaluate(&self) -> js_sys::Promise {
        let (cell, test, device) = (self.trainer.clone(), self.test.clone(), self.device.clone());
        let (busy, energy) = (self.busy_ms.clone(), self.energy.clone());
        future_to_promise(async move {
            let (model, normalization) =
                with_trainer(&cell, |t| (t.model(), t.config().normalization))?;
            let started = now_ms();
            let evaluation = evaluate(&model, &test, normalization, &device)
                .await
                .map_err(training_error)?;
            busy.set(busy.get() + now_ms() - started);
            let (stop, cost) = {
                let mut trainer = cell.borrow_mut();
                let trainer = trainer
                    .as_mut()
                    .ok_or_else(|| JsError::new("a step is running"))?;
                let stop = trainer.evaluated(&evaluation, busy.get() / 1e3);
                (
                    stop.map(|s| s.to_string()),
                    trainer.cost(busy.get() / 1e3, &energy),
                )
            };
            let shown = evaluation.predictions.len().min(SHOWN);
            let report = Report::new(&evaluation, test.labels(), MISTAKES_SHOWN);
            let mistake_images = (report.most_confident_mistakes.iter())
                .map(|m| test.image(m.index).to_vec())
                .collect();
            Ok(JsValue::from(json(&EvaluationJson {
                loss: evaluation.loss,
                accuracy: evaluation.accuracy,
                stop,
                cost,
                predictions: evaluation.predictions[..shown].to_vec(),
                confusion_csv: report.confusion_csv(),
                report,
                mistake_images,
            })))
        })
    }

    /// The current weights as a weights file (with the test accuracy when known) in
    /// `precision` ("f32", the default, or "int8"); resolves to a `Uint8Array`.
    /// Asynchronous because WebGPU reads back asynchronously.
    pub fn save(&self, test_accuracy: Option<f32>, precision: Option<String>) -> js_sys::Promise {
        let cell = self.trainer.clone();
        future_to_promise(async move {
            let precision = match precision.as_deref() {
                None => weights::Precision::F32,
                Some(name) => serde_json::from_value(name.into())
                    .map_err(|_| JsError::new(&format!("no weights precision called {name:?}")))?,
            };
            let (model, header) = with_trainer(&cell, |trainer| {
                let config = trainer.config();
                let header = WeightsHeader {
                    precision,
                    ..WeightsHeader::new(
                        config.model.clone(),
                        config.normalization,
                        "mnist",
                        trainer.model_epochs(),
                        test_accuracy,
                    )
                };
                (trainer.model(), header)
            })?;
            let bytes = weights::to_bytes_async(&model, &header)
                .await
                .map_err(js_error)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// The whole run as a checkpoint (weights, optimizer state, position, ledger, time worked),
    /// which `Training.cpu`/`Training.webgpu` continue exactly when given it as `weights`;
    /// resolves to a `Uint8Array`. Taken between steps (a running step makes it reject).
    /// Gradient descent is checkpointed only between epochs; mid-epoch it rejects with an error
    /// named "CheckpointError", as when the device fails to read back.
    pub fn checkpoint(&self) -> js_sys::Promise {
        let (cell, busy) = (self.trainer.clone(), self.busy_ms.clone());
        future_to_promise(async move {
            // Taken out while it reads back, so a step cannot start meanwhile.
            let trainer = (cell.borrow_mut().take())
                .ok_or_else(|| JsError::new("a step is already running"))?;
            let result = trainer.checkpoint(busy.get() / 1e3).await;
            *cell.borrow_mut() = Some(trainer);
            let bytes = result.map_err(|e| named_error("CheckpointError", e))?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// What a checkpoint holds, without opening a run: JSON `{epoch, batch, epochs,
    /// samples_seen, train_images, model_epochs, seconds, summary, config}` (`epoch` and
    /// `batch`: 0-based, of the next step; `summary`: the recipe in a few words). A damaged or
    /// foreign file rejects with the reason.
    #[wasm_bindgen(js_name = checkpointInfo)]
    pub fn checkpoint_info(bytes: &[u8]) -> Result<String, JsValue> {
        let Checkpoint { header, .. } =
            checkpoint::from_bytes(bytes).map_err(|e| named_error("SettingsError", e))?;
        let info = serde_json::json!({
            "epoch": header.epoch,
            "batch": header.batch,
            "epochs": header.config.epochs,
            "samples_seen": header.samples_seen,
            "train_images": header.train_images,
            "model_epochs": header.epochs_before + header.epoch,
            "seconds": header.seconds,
            "summary": crate::runs::summary(&header.config),
            "config": header.config,
        });
        Ok(info.to_string())
    }

    /// Test accuracy and loss of a weights file (say, the int8 copy of this run's model) on
    /// this run's test set, on the CPU; resolves to JSON `{accuracy, loss}`.
    #[wasm_bindgen(js_name = evaluateWeights)]
    pub fn evaluate_weights(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let test = self.test.clone();
        future_to_promise(async move {
            let device = Device::flex();
            let (model, header) = weights::from_bytes(&bytes, &device).map_err(js_error)?;
            let evaluation = evaluate(&model, &test, header.normalization, &device)
                .await
                .map_err(training_error)?;
            let result =
                serde_json::json!({"accuracy": evaluation.accuracy, "loss": evaluation.loss});
            Ok(JsValue::from(result.to_string()))
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

/// Turns Kindling's WebGPU kernels off (or back on) for the runs opened after, so the
/// benchmark can time burn's own ops beside them on the same adapter.
#[cfg(feature = "webgpu")]
#[wasm_bindgen(js_name = useWebGpuKernels)]
pub fn use_webgpu_kernels(on: bool) {
    crate::gpu_kernels::set_enabled(on);
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
        teacher: Option<Vec<u8>>,
    ) -> Result<Training, JsValue> {
        let device = webgpu_device().await?;
        let files = [&train_images[..], &train_labels, &test_images, &test_labels];
        Training::on(
            device,
            "WebGPU".into(),
            files,
            &settings,
            [weights, teacher],
        )
    }
}
