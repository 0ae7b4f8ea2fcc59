//! The training loop native and web share: one step at a time, so the browser can yield between
//! steps, and an evaluation after each epoch. It knows no I/O and no UI: it reports events.
//! A run is opened, fresh or continued, and checkpointed in `open`.

pub mod config;
pub mod distill;
pub mod evaluation;
pub mod metrics;
pub mod optimizer;
pub mod recipe;
pub mod settings;

mod open;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::cost::energy::EnergySettings;
use crate::cost::ledger::{CostReport, Ledger, StopReason};
use crate::data::random::SplitMix64;
use crate::data::{self, Dataset, IMAGE_SIDE, NUM_CLASSES};
use crate::inspect::health::{self, Health};
use crate::model::precision;
use crate::model::{Model, ModelConfig};
use crate::nets::{Network, NetworkConfig};
pub use crate::training::config::{TrainError, TrainingConfig};
use crate::training::distill::distillation_loss;
pub use crate::training::evaluation::{evaluate, Evaluation};

pub use open::Start;

/// Cross-entropy starts near ln 10 ≈ 2.3; a batch loss above this means logits in the
/// thousands: the run has blown up even if the number is still finite.
pub const DIVERGED_LOSS: f32 = 1e4;

/// A computation the device failed to run or read back.
pub(crate) fn device_error(e: impl std::fmt::Debug) -> TrainError {
    TrainError::Device(format!("{e:?}"))
}

/// What one optimizer step reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// 1-based epoch this step belongs to.
    pub epoch: usize,
    /// 1-based step within the epoch.
    pub step: usize,
    pub steps_per_epoch: usize,
    /// Mean cross-entropy of this batch.
    pub loss: f32,
    /// The L1 + L2 penalty added to it (0 without regularization).
    pub penalty: f32,
    /// The learning rate this step used.
    pub learning_rate: f64,
    /// Images seen since the run started.
    pub samples_seen: usize,
    /// True when this step finished an epoch.
    pub epoch_done: bool,
    /// True when the test set is due for an evaluation: at the end of each epoch, and more
    /// often with `evaluations_per_epoch`.
    pub evaluate: bool,
}

/// A training run in progress: the model, its optimizer and where it is in the data.
pub struct Trainer {
    config: TrainingConfig,
    device: Device,
    model: Network,
    /// The weights before the last update: the last ones whose loss was seen to be sane.
    previous: Option<Network>,
    /// Measure the gradients' health every so many steps.
    health_every: Option<usize>,
    /// The last step's health, when that step measured it.
    health: Option<Health>,
    optimizer: ModuleOptimizer,
    /// Gradient descent: the gradient of the epoch so far.
    accumulated: GradientsAccumulator<Network>,
    train: Dataset,
    order: Vec<usize>,
    /// 0-based epoch and batch of the next step.
    epoch: usize,
    batch: usize,
    samples_seen: usize,
    pixels: Vec<f32>,
    labels: Vec<i64>,
    /// FLOPs spent, milestones reached, early stopping.
    ledger: Ledger,
    /// Distillation's teacher, without autodiff.
    teacher: Option<Model>,
    /// Epochs the model had been trained for before this run started.
    epochs_before: usize,
    /// Seconds the device worked on this run before it was last opened (from a checkpoint):
    /// the callers' clocks start again at 0.
    seconds_before: f64,
}

impl Trainer {
    pub fn config(&self) -> &TrainingConfig {
        &self.config
    }

    pub fn steps_per_epoch(&self) -> usize {
        data::num_batches(self.train.len(), self.config.batch_size)
    }

    /// Epochs of this run fully done so far (from its start, before any checkpoint too).
    pub fn epochs_done(&self) -> usize {
        self.epoch
    }

    /// Epochs the model has been trained for in all: those of the weights the run started
    /// from, and the run's own. Its weights file records this.
    pub fn model_epochs(&self) -> usize {
        self.epochs_before + self.epoch
    }

    /// Steps taken since the run started.
    pub fn steps_done(&self) -> usize {
        self.epoch * self.steps_per_epoch() + self.batch
    }

    /// Training images per epoch.
    pub fn train_len(&self) -> usize {
        self.train.len()
    }

    /// Images trained on since the run started.
    pub fn samples_seen(&self) -> usize {
        self.samples_seen
    }

    /// True once the configured number of epochs has run, or early stopping ended the run.
    pub fn finished(&self) -> bool {
        self.epoch >= self.config.epochs || self.ledger.stopped()
    }

    /// Distils from `teacher` (any model variant): the configuration must say how
    /// (`distill`). The teacher's forward pass on each batch is counted in the run's FLOPs.
    pub fn with_teacher(
        mut self,
        teacher: Model,
        teacher_config: &ModelConfig,
    ) -> Result<Self, TrainError> {
        if self.config.distill.is_none() {
            return Err(TrainError::Config(
                "a teacher needs distillation settings (temperature, alpha)".into(),
            ));
        }
        self.ledger.add_teacher(teacher_config);
        self.teacher = Some(teacher.to_device(&self.device.clone().without_autodiff()));
        Ok(self)
    }

    /// Epochs of training done so far, with the fraction of the current one (1.5: half way
    /// through the second).
    pub fn progress(&self) -> f64 {
        self.samples_seen as f64 / self.train.len() as f64
    }

    /// Records a test-set evaluation of the current weights, taken `seconds` after the run was
    /// opened: FLOPs, milestones, early stopping. `Some` when early stopping ends the run here.
    pub fn evaluated(&mut self, evaluation: &Evaluation, seconds: f64) -> Option<StopReason> {
        let images = evaluation.images;
        let seconds = self.seconds_before + seconds;
        let progress = self.progress();
        (self.ledger).evaluated(progress, evaluation.accuracy, images, seconds)
    }

    /// What the run has spent by `seconds` after it was opened (a continued run adds the time
    /// before its checkpoint), with energy estimated under `energy`.
    pub fn cost(&self, seconds: f64, energy: &EnergySettings) -> CostReport {
        self.ledger.report(self.seconds_before + seconds, energy)
    }

    /// Measures the gradients' health (per layer: gradient norm, update-to-weight ratio) on
    /// the first step and every `every` steps from now on (`health::HEALTH_EVERY` on the CPU);
    /// `None` stops measuring it.
    pub fn watch_health(&mut self, every: Option<usize>) {
        self.health_every = every.filter(|&n| n > 0);
    }

    /// The health of the last step, when it was measured.
    pub fn health(&self) -> Option<&Health> {
        self.health.as_ref()
    }

    /// The current weights for inference: no autodiff, dropout off.
    pub fn model(&self) -> Network {
        self.model.valid()
    }

    /// One optimizer step on the next batch. The loss is read back (awaited) so divergence is
    /// caught at the step where it shows. That loss was computed with the weights the previous
    /// step made, so the model goes back to the weights before that step: the last ones whose
    /// loss was sane.
    pub async fn step(&mut self) -> Result<StepReport, TrainError> {
        // Dropout draws from the device's generator, which cannot be read back: seeding it from
        // the step makes a continued run draw what the uninterrupted one would have.
        let step = self.steps_done();
        self.device
            .seed(SplitMix64::for_parts(self.config.seed, step as u64, 0xD50F).next_u64());
        let size = self.config.batch_size;
        let start = self.batch * size;
        let end = (start + size).min(self.order.len());
        self.train.fill_batch(
            &self.order[start..end],
            self.config.normalization,
            &mut self.pixels,
            &mut self.labels,
        );
        let soft_targets = self.augment_batch();
        let loss = self.loss(soft_targets).await?; // [1]
        let penalty = self.model.weight_penalty(self.config.l1, self.config.l2); // [1]
        let total = match &penalty {
            Some(penalty) => loss.clone() + penalty.clone(),
            None => loss.clone(),
        };
        let total_steps = self.config.epochs * self.steps_per_epoch();
        let learning_rate = (self.config.schedule).learning_rate(
            self.config.learning_rate,
            step,
            self.steps_per_epoch(),
            total_steps,
        );
        let epoch_done = end == self.order.len();
        // The gradient this step updates with: gradient descent's waits for the epoch's end.
        let grads = if self.config.full_batch() {
            // This batch's share of the whole set's mean loss.
            let share = (end - start) as f64 / self.order.len() as f64;
            let grads =
                GradientsParams::from_grads(total.mul_scalar(share).backward(), &self.model);
            self.accumulated.accumulate(&self.model, grads);
            epoch_done.then(|| self.accumulated.grads())
        } else {
            Some(GradientsParams::from_grads(total.backward(), &self.model))
        };
        let every = self.health_every.unwrap_or(0);
        let measure = every > 0 && (step == 0 || (step + 1).is_multiple_of(every));
        let mut before = None;
        let updated = match grads {
            Some(grads) => {
                before = measure.then(|| health::before_step(&self.model, &grads));
                let grads = match self.config.clip_norm {
                    Some(max) => health::clip_by_global_norm(&self.model, grads, max),
                    None => grads,
                };
                (self.optimizer).step(learning_rate, self.model.clone(), grads)
            }
            None => self.model.clone(),
        };
        self.health = match before {
            Some(before) => Some(
                health::measure(before, &updated, (step + 1, every), self.config.clip_norm)
                    .await
                    .map_err(TrainError::Device)?,
            ),
            None => None,
        };
        let read = |t: Tensor<1>| t.into_data_async();
        let values = match penalty {
            Some(penalty) => read(Tensor::cat(vec![loss, penalty], 0)).await,
            None => read(loss).await,
        }
        .map_err(device_error)?;
        let values: Vec<f32> = values.iter::<f32>().collect();
        let (loss, penalty) = (values[0], values.get(1).copied().unwrap_or(0.0));

        let report = StepReport {
            epoch: self.epoch + 1,
            step: self.batch + 1,
            steps_per_epoch: self.steps_per_epoch(),
            loss,
            penalty,
            learning_rate,
            samples_seen: self.samples_seen + (end - start),
            epoch_done,
            evaluate: epoch_done || {
                let every = self
                    .steps_per_epoch()
                    .div_ceil(self.config.evaluations_per_epoch);
                (self.batch + 1).is_multiple_of(every)
            },
        };
        let sane = |x: f32| x.is_finite() && x <= DIVERGED_LOSS;
        if !sane(loss) || !sane(penalty) {
            if let Some(previous) = self.previous.take() {
                self.model = previous;
            }
            return Err(TrainError::Diverged {
                epoch: report.epoch,
                step: report.step,
                loss,
            });
        }
        self.previous = Some(std::mem::replace(&mut self.model, updated));
        self.ledger.trained(end - start);
        self.samples_seen = report.samples_seen;
        self.batch += 1;
        if report.epoch_done {
            self.epoch += 1;
            self.batch = 0;
            self.order = data::epoch_order(self.train.len(), self.config.seed, self.epoch);
        }
        Ok(report)
    }
}

impl Trainer {
    /// The loss of the batch just filled (and augmented), as its network defines it: a
    /// classifier's cross-entropy (against mixup's soft targets if given, blended with the
    /// teacher's when distilling), or an autoencoder's reconstruction error.
    async fn loss(&self, soft_targets: Option<Vec<f32>>) -> Result<Tensor<1>, TrainError> {
        let (images, targets) = batch_tensors(&self.pixels, &self.labels, &self.device);
        let logits = match &self.model {
            Network::Cnn(model) => precision::forward(model, images, self.config.compute),
            Network::Rnn(rnn) => rnn.forward(images),
            Network::Autoencoder(autoencoder) => {
                let Some(NetworkConfig::Autoencoder(config)) = &self.config.network else {
                    unreachable!("an autoencoder is trained by an autoencoder's run")
                };
                let inputs = match config.noise > 0.0 {
                    true => {
                        let seed = self.config.seed ^ 0x0015_E000;
                        let step = self.steps_done() as u64;
                        let mut rng = SplitMix64::for_parts(seed, step, 0);
                        let noisy = config.add_noise(&self.pixels, &mut rng);
                        batch_tensors(&noisy, &self.labels, &self.device).0
                    }
                    false => images.clone(),
                };
                // [batch, 1, 28, 28] against the clean images
                return Ok(autoencoder.loss(inputs, images));
            }
        }; // [batch, 10]
        let teacher_logits = self.teacher_logits().await?; // [batch, 10]
        let loss = match soft_targets {
            // Mixup's blended targets: [batch, 10]
            Some(soft) => soft_cross_entropy(logits.clone(), soft_tensor(soft, &self.device)),
            None => CrossEntropyLossConfig::new()
                .init(&self.device)
                .forward(logits.clone(), targets), // [1]
        };
        Ok(match (teacher_logits, &self.config.distill) {
            (Some(teacher), Some(d)) => {
                distillation_loss(logits, teacher, loss, d.temperature, d.alpha)
            }
            _ => loss,
        })
    }

    /// Augments the batch just filled, with randomness fixed by (seed, epoch, batch) so a run
    /// can be repeated. Returns mixup's soft targets, if mixup is on.
    fn augment_batch(&mut self) -> Option<Vec<f32>> {
        let augment = &self.config.augment;
        if !augment.is_active() {
            return None;
        }
        // Salted, so the augmentation's stream is not the shuffle's.
        let seed = self.config.seed ^ 0xA11C_E5ED;
        let mut rng = SplitMix64::for_parts(seed, self.epoch as u64, self.batch as u64);
        let background = self.config.normalization.apply(0);
        augment.apply(&mut self.pixels, &self.labels, background, &mut rng)
    }
}

impl Trainer {
    /// The teacher's logits for the batch just filled (and augmented), as constants on the
    /// training device; `None` without a teacher.
    async fn teacher_logits(&self) -> Result<Option<Tensor<2>>, TrainError> {
        let Some(teacher) = &self.teacher else {
            return Ok(None);
        };
        let plain = self.device.clone().without_autodiff();
        let (images, _) = batch_tensors(&self.pixels, &self.labels, &plain);
        let logits = teacher.forward(images).into_data_async().await; // [batch, 10]
        Ok(Some(Tensor::from_data(
            logits.map_err(device_error)?,
            &self.device,
        )))
    }
}

/// Cross-entropy against probability targets: `−mean over the batch of Σ targets·log softmax`.
/// With one-hot targets it is the usual loss.
pub fn soft_cross_entropy(logits: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let [batch, _] = logits.dims();
    (targets * log_softmax(logits, 1)) // [batch, 10]
        .sum()
        .mul_scalar(-1.0 / batch as f64) // [1]
}

/// Uploads soft targets, `[batch, 10]`.
fn soft_tensor(targets: Vec<f32>, device: &Device) -> Tensor<2> {
    let batch = targets.len() / NUM_CLASSES;
    Tensor::from_data(TensorData::new(targets, [batch, NUM_CLASSES]), device)
}

/// Uploads a filled batch: images `[batch, 1, 28, 28]` and class indices `[batch]`.
pub fn batch_tensors(
    pixels: &[f32],
    labels: &[i64],
    device: &Device,
) -> (Tensor<4>, Tensor<1, Int>) {
    let batch = labels.len();
    let images = Tensor::from_data(
        TensorData::new(pixels.to_vec(), [batch, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    );
    let targets = Tensor::from_data(TensorData::new(labels.to_vec(), [batch]), device);
    (images, targets)
}

/// What a whole run reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Step(StepReport),
    /// The test set was evaluated, `epochs` of training into the run (at the end of each
    /// epoch, and more often with `evaluations_per_epoch`).
    Evaluated {
        epochs: f64,
        evaluation: Evaluation,
        /// Why the run ends here, before its last epoch.
        stop: Option<StopReason>,
    },
}

/// Trains until the configured epochs are done or early stopping ends the run, evaluating on
/// `test` when a step says so; `seconds` reads the run's clock. Each event comes with the
/// trainer as it stands (to checkpoint it, say). Returns the last evaluation.
/// The browser drives [`Trainer::step`] itself, to yield between steps.
pub async fn run(
    trainer: &mut Trainer,
    test: &Dataset,
    seconds: impl Fn() -> f64,
    mut on_event: impl FnMut(&Trainer, Event),
) -> Result<Evaluation, TrainError> {
    let mut last = None;
    while !trainer.finished() {
        let report = trainer.step().await?;
        on_event(trainer, Event::Step(report));
        if report.evaluate {
            let evaluation = evaluate(
                &trainer.model(),
                test,
                trainer.config.normalization,
                &trainer.device,
            )
            .await?;
            let stop = trainer.evaluated(&evaluation, seconds());
            on_event(
                trainer,
                Event::Evaluated {
                    epochs: trainer.progress(),
                    evaluation: evaluation.clone(),
                    stop,
                },
            );
            last = Some(evaluation);
        }
    }
    last.ok_or(TrainError::EmptyData)
}
