//! A training run for the page's worker. The run owns everything it reports (epochs, steps,
//! rate, time left, its last evaluation, its record and its checkpoint); the worker only loops
//! over `step` and relays what it returns.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use burn::tensor::Device;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::reports::{evaluation_json, StepJson, RECONSTRUCTED, SHOWN};
use super::{js_error, json, named_error, now_ms, training_error, Datasets};
use crate::cost::energy::EnergySettings;
use crate::cost::runs::{RunFacts, RunRecord};
use crate::data::Dataset;
use crate::inspect::health;
use crate::nets::Network;
use crate::store::checkpoint::{self, Checkpoint};
use crate::store::weights::{self, WeightsHeader};
use crate::training::recipe::RunSettings;
use crate::training::{evaluate, Start, Trainer};

/// A test-set evaluation's `(accuracy, loss)`: an autoencoder has no accuracy.
type TestResult = (Option<f32>, f32);

/// A training run: the trainer and the test set on one device. Steps are asynchronous (WebGPU
/// reads back asynchronously); the worker awaits each before the next.
#[wasm_bindgen]
pub struct Training {
    /// Taken out while a step runs, so an overlapping call is refused, not a panic.
    trainer: Rc<RefCell<Option<Trainer>>>,
    test: Dataset,
    device: Device,
    backend: &'static str,
    energy: EnergySettings,
    /// Milliseconds spent in steps and evaluations since the run was opened: the time the
    /// device worked, without pauses, which the energy estimate multiplies.
    busy_ms: Rc<Cell<f64>>,
    /// Steps done when the run was opened (more than 0 from a checkpoint): the rate and the
    /// time left count from here.
    steps_at_open: usize,
    /// The last test-set evaluation's `(accuracy, loss)` (an autoencoder has no accuracy),
    /// which weights files and the run's record carry.
    last_evaluation: Rc<Cell<Option<TestResult>>>,
}

#[wasm_bindgen]
impl Training {
    /// A run on the CPU (`flex`) on the worker's `datasets` with run settings (JSON),
    /// distilling from `teacher`'s weights when given. `weights`, when given, is either a
    /// weights file (a new run on those weights, with a fresh optimizer and the settings given)
    /// or a checkpoint from [`Training::checkpoint`], told apart by their first bytes: the run
    /// then continues exactly where it stopped, with the checkpoint's settings and training
    /// images. Its settings may be `"{}"`, or name only settings equal to the checkpoint's,
    /// but for `epochs`, which may grow.
    pub fn cpu(
        datasets: &Datasets,
        settings: &str,
        weights: Option<Vec<u8>>,
        teacher: Option<Vec<u8>>,
    ) -> Result<Training, JsValue> {
        Training::on(
            Device::flex(),
            "CPU",
            datasets,
            settings,
            [weights, teacher],
        )
    }

    /// "CPU" or "WebGPU".
    pub fn backend(&self) -> String {
        self.backend.into()
    }

    /// Runs one optimizer step; resolves to the step report as JSON. A diverging loss rejects
    /// with an error named "Diverged", and the model keeps the weights from before that step.
    pub fn step(&self) -> js_sys::Promise {
        let (cell, busy, energy) = (
            self.trainer.clone(),
            self.busy_ms.clone(),
            self.energy.clone(),
        );
        let steps_at_open = self.steps_at_open;
        future_to_promise(async move {
            let mut trainer = (cell.borrow_mut().take())
                .ok_or_else(|| JsError::new("a step is already running"))?;
            let started = now_ms();
            let result = trainer.step().await;
            busy.set(busy.get() + now_ms() - started);
            let json = result.map(|report| {
                let seconds = busy.get() / 1e3;
                let steps_per_epoch = report.steps_per_epoch;
                let total_steps = trainer.config().epochs * steps_per_epoch;
                let steps_done = trainer.steps_done();
                let per_step = seconds / (steps_done - steps_at_open).max(1) as f64;
                let cost = trainer.cost(seconds, &energy);
                json(&StepJson {
                    epoch: report.epoch,
                    epochs: trainer.config().epochs,
                    step: report.step,
                    steps_per_epoch,
                    steps_done,
                    total_steps,
                    epochs_done: trainer.epochs_done(),
                    model_epochs: trainer.model_epochs(),
                    loss: report.loss,
                    penalty: report.penalty,
                    learning_rate: report.learning_rate,
                    samples_seen: report.samples_seen,
                    samples_per_second: cost.samples_per_second,
                    seconds: cost.seconds,
                    eta_seconds: per_step * total_steps.saturating_sub(steps_done) as f64,
                    epoch_done: report.epoch_done,
                    finished: trainer.finished(),
                    cost,
                    health: trainer.health().cloned(),
                })
            });
            *cell.borrow_mut() = Some(trainer);
            Ok(JsValue::from(json.map_err(training_error)?))
        })
    }

    /// Evaluates the current weights on the test set and records it in the run's ledger
    /// (milestones, early stopping); resolves to JSON
    /// `{loss, accuracy, stop, cost, predictions, report, mistake_images, confusion_csv}`.
    pub fn evaluate(&self) -> js_sys::Promise {
        let (cell, test, device) = (self.trainer.clone(), self.test.clone(), self.device.clone());
        let (busy, energy) = (self.busy_ms.clone(), self.energy.clone());
        let last = self.last_evaluation.clone();
        future_to_promise(async move {
            let (model, normalization) =
                with_trainer(&cell, |t| (t.model(), t.config().normalization))?;
            let started = now_ms();
            let evaluation = evaluate(&model, &test, normalization, &device)
                .await
                .map_err(training_error)?;
            // An autoencoder's reconstructions of the first test images, beside them.
            let reconstructions = match &model {
                Network::Autoencoder(ae) => {
                    let count = test.len().min(RECONSTRUCTED);
                    let images: Vec<u8> = (0..count).flat_map(|i| test.image(i).to_vec()).collect();
                    Some(
                        (ae.reconstruct_bytes(&images, &device).await)
                            .map_err(|e| training_error(crate::training::TrainError::Device(e)))?,
                    )
                }
                _ => None,
            };
            busy.set(busy.get() + now_ms() - started);
            last.set(Some((evaluation.accuracy, evaluation.loss)));
            let (stop, cost) = {
                let mut trainer = cell.borrow_mut();
                let trainer =
                    (trainer.as_mut()).ok_or_else(|| JsError::new("a step is running"))?;
                let stop = trainer.evaluated(&evaluation, busy.get() / 1e3);
                let cost = trainer.cost(busy.get() / 1e3, &energy);
                (stop.map(|s| s.to_string()), cost)
            };
            Ok(JsValue::from(evaluation_json(
                &evaluation,
                &test,
                stop,
                cost,
                reconstructions,
            )))
        })
    }

    /// The current weights as a weights file, with the last evaluation's test accuracy, in
    /// `precision` ("f32", the default, or "int8"); resolves to a `Uint8Array`.
    /// Asynchronous because WebGPU reads back asynchronously.
    pub fn save(&self, precision: Option<String>) -> js_sys::Promise {
        let (cell, last) = (self.trainer.clone(), self.last_evaluation.get());
        future_to_promise(async move {
            let precision = match precision.as_deref() {
                None => weights::Precision::F32,
                Some(name) => serde_json::from_value(name.into())
                    .map_err(|_| JsError::new(&format!("no weights precision called {name:?}")))?,
            };
            let bytes =
                weights_file(&cell, precision, last.and_then(|(accuracy, _)| accuracy)).await?;
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
    /// steps_per_epoch, samples_seen, train_images, model_epochs, seconds, summary, config}`
    /// (`epoch` and `batch`: 0-based, of the next step; `summary`: the recipe in a few words).
    /// A damaged or foreign file rejects with the reason.
    #[wasm_bindgen(js_name = checkpointInfo)]
    pub fn checkpoint_info(bytes: &[u8]) -> Result<String, JsValue> {
        let Checkpoint { header, .. } =
            checkpoint::from_bytes(bytes).map_err(|e| named_error("SettingsError", e))?;
        let config = &header.config;
        let info = serde_json::json!({
            "epoch": header.epoch,
            "batch": header.batch,
            "epochs": config.epochs,
            "steps_per_epoch": crate::data::num_batches(header.train_images, config.batch_size),
            "samples_seen": header.samples_seen,
            "train_images": header.train_images,
            "model_epochs": header.epochs_before + header.epoch,
            "seconds": header.seconds,
            "summary": crate::cost::runs::summary(config),
            "config": config,
        });
        Ok(info.to_string())
    }

    /// The finished run's one-line record (the CLI's JSON-lines format) for the page's
    /// comparison table: trained on `device` (the page's words for it) with MNIST downloaded
    /// as `data_bytes` bytes. Resolves to the record as JSON.
    pub fn record(&self, device: String, data_bytes: f64) -> js_sys::Promise {
        let (cell, busy, energy) = (
            self.trainer.clone(),
            self.busy_ms.clone(),
            self.energy.clone(),
        );
        let last = self.last_evaluation.get();
        future_to_promise(async move {
            let (accuracy, loss) =
                last.ok_or_else(|| JsError::new("the run has not been evaluated yet"))?;
            let model_bytes = weights_file(&cell, weights::Precision::F32, accuracy)
                .await?
                .len();
            let record = with_trainer(&cell, |trainer| {
                let cost = trainer.cost(busy.get() / 1e3, &energy);
                let facts = RunFacts {
                    finished_at: (now_ms() / 1e3) as u64,
                    device,
                    images: trainer.train_len(),
                    epochs: trainer.model_epochs(),
                    test_accuracy: accuracy,
                    test_loss: loss,
                    seconds: cost.seconds,
                    cost: Some(cost),
                    data_bytes: Some(data_bytes as u64),
                    model_bytes: Some(model_bytes as u64),
                };
                RunRecord::new(trainer.config(), facts)
            })?;
            Ok(JsValue::from(json(&record)))
        })
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

    /// Measures the training's health every few steps (the default), or not: the bench times
    /// the step both ways.
    #[wasm_bindgen(js_name = watchHealth)]
    pub fn watch_health(&self, on: bool) -> Result<(), JsError> {
        let mut cell = self.trainer.borrow_mut();
        let trainer = cell
            .as_mut()
            .ok_or_else(|| JsError::new("a step is running"))?;
        trainer.watch_health(on.then(|| health_every(self.backend)));
        Ok(())
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

impl Training {
    /// Bad settings, and weights to continue from that do not fit them (another model
    /// variant), are refused as a "SettingsError"; the worker stays usable.
    pub(super) fn on(
        device: Device,
        backend: &'static str,
        datasets: &Datasets,
        settings: &str,
        [weights, teacher]: [Option<Vec<u8>>; 2],
    ) -> Result<Training, JsValue> {
        let refused = |e: String| named_error("SettingsError", e);
        let settings: RunSettings =
            serde_json::from_str(settings).map_err(|e| refused(e.to_string()))?;
        let checkpoint = match &weights {
            Some(bytes) if checkpoint::is_checkpoint(bytes) => {
                Some(checkpoint::from_bytes(bytes).map_err(|e| refused(e.to_string()))?)
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
        settings.validate(&config).map_err(refused)?;
        (config.compute.check_device(&device)).map_err(refused)?;
        let mut train = datasets.train.clone();
        if let Some(limit) = limit {
            train = train.limit(limit);
        }
        let start = match (checkpoint, &weights) {
            (Some(checkpoint), _) => Start::Checkpoint(checkpoint),
            (None, Some(bytes)) => Start::Weights(bytes),
            (None, None) => Start::Fresh,
        };
        let mut trainer = Trainer::open(config, train, &device, start).map_err(training_error)?;
        trainer.watch_health(Some(health_every(backend))); // the page's health chart
        let trainer = match teacher {
            None => trainer,
            Some(bytes) => {
                let (teacher, header) = weights::cnn_from_bytes(&bytes, &device)
                    .map_err(|e| refused(format!("the teacher: {e}")))?;
                (trainer.with_teacher(teacher, &header.model)).map_err(training_error)?
            }
        };
        Ok(Training {
            steps_at_open: trainer.steps_done(),
            trainer: Rc::new(RefCell::new(Some(trainer))),
            test: datasets.test.clone(),
            device,
            backend,
            energy: settings.energy.clone().unwrap_or_default(),
            busy_ms: Rc::new(Cell::new(0.0)),
            last_evaluation: Rc::new(Cell::new(None)),
        })
    }
}

/// The run's current weights as a weights file in `precision`, recording `test_accuracy`.
async fn weights_file(
    cell: &RefCell<Option<Trainer>>,
    precision: weights::Precision,
    test_accuracy: Option<f32>,
) -> Result<Vec<u8>, JsError> {
    let (model, header) = with_trainer(cell, |trainer| {
        let config = trainer.config();
        let header = WeightsHeader {
            precision,
            ..WeightsHeader::new(
                config.architecture(),
                config.normalization,
                "mnist",
                trainer.model_epochs(),
                test_accuracy,
            )
        };
        (trainer.model(), header)
    })?;
    weights::to_bytes_async(&model, &header)
        .await
        .map_err(js_error)
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

/// Steps between two measurements of the training's health on `backend` ("CPU" or "WebGPU").
fn health_every(backend: &str) -> usize {
    match backend {
        "WebGPU" => health::HEALTH_EVERY_WEBGPU,
        _ => health::HEALTH_EVERY,
    }
}
