//! A run's ledger: the FLOPs it has spent (training and evaluation), when it first reached
//! 98% and 99% test accuracy and what that cost, and early stopping with what stopping saved.
//! Time comes from the caller (the CLI's clock or the page's), so the ledger runs anywhere.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::cost;
use crate::cost::energy::{EnergySettings, Estimate};
use crate::model::ModelConfig;
use crate::training::settings;

/// The test accuracies whose first crossing each run reports, with their cost.
pub const MILESTONES: [f32; 2] = [0.98, 0.99];

/// When to end a run before its last epoch. Both off by default.
#[derive(Config, Debug, PartialEq)]
pub struct EarlyStopConfig {
    /// Stop once the test accuracy reaches this fraction (e.g. 0.99).
    pub target: Option<f32>,
    /// Stop when the test accuracy has not improved by `min_delta` for this many evaluations
    /// (epochs, with one evaluation per epoch).
    pub patience: Option<usize>,
    /// The smallest gain in test accuracy that counts as an improvement.
    #[config(default = 0.001)]
    pub min_delta: f32,
}

impl EarlyStopConfig {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(target) = self.target {
            // The setting is in percent; the target a fraction.
            settings::STOP_AT.check(f64::from(target) * 100.0)?;
        }
        if let Some(patience) = self.patience {
            settings::PATIENCE.check(patience as f64)?;
        }
        if !(0.0..1.0).contains(&self.min_delta) {
            return Err(format!(
                "the smallest improvement must be in [0, 1), got {}",
                self.min_delta
            ));
        }
        Ok(())
    }
}

/// Why a run stopped before its last epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StopReason {
    /// The test accuracy reached the target.
    Target { accuracy: f32, target: f32 },
    /// No improvement for `epochs` epochs; the best was `best`.
    Plateau { best: f32, epochs: usize },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Target { accuracy, target } => write!(
                f,
                "reached {:.2}% (target {:.2}%)",
                100.0 * accuracy,
                100.0 * target
            ),
            Self::Plateau { best, epochs } => {
                write!(f, "no gain for {epochs} epochs (best {:.2}%)", 100.0 * best)
            }
        }
    }
}

/// Watches test accuracies epoch by epoch and says when to stop.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    config: EarlyStopConfig,
    #[serde(with = "unset_is_null")]
    best: f32,
    since_best: usize,
}

impl EarlyStopping {
    pub fn new(config: EarlyStopConfig) -> Self {
        EarlyStopping {
            config,
            best: f32::NEG_INFINITY,
            since_best: 0,
        }
    }

    /// Takes the next epoch's test accuracy; `Some` when the run should stop now.
    pub fn observe(&mut self, accuracy: f32) -> Option<StopReason> {
        if accuracy >= self.best + self.config.min_delta {
            (self.best, self.since_best) = (accuracy, 0);
        } else {
            self.since_best += 1;
        }
        if let Some(target) = self.config.target {
            if accuracy >= target {
                return Some(StopReason::Target { accuracy, target });
            }
        }
        match self.config.patience {
            Some(epochs) if self.since_best >= epochs => Some(StopReason::Plateau {
                best: self.best,
                epochs,
            }),
            _ => None,
        }
    }
}

/// The first time a run's test accuracy reached a milestone, and what it had spent by then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Milestone {
    /// The milestone, e.g. 0.99.
    pub accuracy: f32,
    /// Epochs of training when an evaluation first found it reached (2.5: half way through
    /// the third epoch).
    pub epoch: f64,
    pub flops: f64,
    pub seconds: f64,
    pub estimate: Estimate,
}

/// What stopping early saved: the epochs not run, at the run's average cost per epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    pub reason: StopReason,
    pub epochs_saved: f64,
    pub flops: f64,
    pub seconds: f64,
    pub estimate: Estimate,
}

/// What a run has spent so far, as the page shows it live and the run card records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostReport {
    /// Training and evaluation FLOPs, counted from the model (`cost`).
    pub flops: f64,
    pub seconds: f64,
    /// Training images per second.
    pub samples_per_second: f64,
    /// FLOPs per second achieved, in billions.
    pub gflops_per_second: f64,
    pub energy: EnergySettings,
    pub estimate: Estimate,
    pub milestones: Vec<Milestone>,
    pub early_stop: Option<Saving>,
    pub params: usize,
}

/// A run's running totals. The trainer keeps one; the caller says what time it is. A checkpoint
/// keeps it whole, so a continued run goes on counting where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    train_flops_per_image: f64,
    /// Distillation's teacher: its forward pass on each training image.
    #[serde(default)]
    teacher_flops_per_image: f64,
    forward_flops_per_image: f64,
    params: usize,
    epochs: usize,
    trained_images: usize,
    evaluated_images: usize,
    /// (milestone, epochs, FLOPs, seconds) of each milestone reached.
    reached: Vec<(f32, f64, f64, f64)>,
    stopping: EarlyStopping,
    /// Why the run stopped early, after how many epochs, and at what time.
    stopped: Option<(StopReason, f64, f64)>,
}

impl Ledger {
    pub fn new(network: &impl cost::Layers, epochs: usize, early_stop: &EarlyStopConfig) -> Self {
        Ledger {
            train_flops_per_image: cost::train_flops(network),
            teacher_flops_per_image: 0.0,
            forward_flops_per_image: cost::forward_flops(network),
            params: cost::params(network),
            epochs,
            trained_images: 0,
            evaluated_images: 0,
            reached: Vec::new(),
            stopping: EarlyStopping::new(early_stop.clone()),
            stopped: None,
        }
    }

    /// Distillation runs the teacher's forward pass on every training image too. Set, not
    /// added: a run continued from a checkpoint is given its teacher again.
    pub fn add_teacher(&mut self, teacher: &ModelConfig) {
        self.teacher_flops_per_image = cost::forward_flops(teacher);
    }

    /// A continued run may be given more epochs than it was started with: what stopping early
    /// saves is counted against the new length.
    pub fn set_epochs(&mut self, epochs: usize) {
        self.epochs = epochs;
    }

    /// FLOPs spent so far.
    pub fn flops(&self) -> f64 {
        let per_image = self.train_flops_per_image + self.teacher_flops_per_image;
        self.trained_images as f64 * per_image
            + self.evaluated_images as f64 * self.forward_flops_per_image
    }

    /// A training step on `images` images.
    pub fn trained(&mut self, images: usize) {
        self.trained_images += images;
    }

    /// A test-set evaluation `epochs` of training into the run (2.0 after the second) gave
    /// `accuracy` on `images` images (none for an autoencoder), at `seconds`. Returns why to
    /// stop, when the early-stopping rule says so.
    pub fn evaluated(
        &mut self,
        epochs: f64,
        accuracy: Option<f32>,
        images: usize,
        seconds: f64,
    ) -> Option<StopReason> {
        self.evaluated_images += images;
        let accuracy = accuracy?;
        for milestone in MILESTONES {
            let known = self.reached.iter().any(|r| r.0 == milestone);
            if accuracy >= milestone && !known {
                self.reached
                    .push((milestone, epochs, self.flops(), seconds));
            }
        }
        let reason = self.stopping.observe(accuracy)?;
        if epochs < self.epochs as f64 {
            self.stopped = Some((reason.clone(), epochs, seconds));
        }
        Some(reason)
    }

    /// True once early stopping has ended the run.
    pub fn stopped(&self) -> bool {
        self.stopped.is_some()
    }

    /// The totals at `seconds` into the run, with energy estimated under `energy`.
    pub fn report(&self, seconds: f64, energy: &EnergySettings) -> CostReport {
        let flops = self.flops();
        let per_second = |x: f64| if seconds > 0.0 { x / seconds } else { 0.0 };
        let milestones = (self.reached.iter())
            .map(|&(accuracy, epoch, flops, seconds)| Milestone {
                accuracy,
                epoch,
                flops,
                seconds,
                estimate: energy.estimate(seconds),
            })
            .collect();
        let early_stop = self.stopped.as_ref().map(|(reason, done, at)| {
            let saved = self.epochs as f64 - done;
            let share = saved / done;
            Saving {
                reason: reason.clone(),
                epochs_saved: saved,
                flops: flops * share,
                seconds: at * share,
                estimate: energy.estimate(at * share),
            }
        });
        CostReport {
            flops,
            seconds,
            samples_per_second: per_second(self.trained_images as f64),
            gflops_per_second: per_second(flops) / 1e9,
            energy: energy.clone(),
            estimate: energy.estimate(seconds),
            milestones,
            early_stop,
            params: self.params,
        }
    }
}

/// JSON has no infinities: the best accuracy before any evaluation (−∞) is written as null.
mod unset_is_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &f32, serializer: S) -> Result<S::Ok, S::Error> {
        value.is_finite().then_some(*value).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f32, D::Error> {
        Ok(Option::<f32>::deserialize(deserializer)?.unwrap_or(f32::NEG_INFINITY))
    }
}
