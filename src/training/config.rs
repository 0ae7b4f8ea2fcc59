//! What defines a training run, checked before anything is allocated, and every way a run can
//! stop or fail to start.

use burn::config::Config;

use crate::cost::ledger::EarlyStopConfig;
use crate::data::augment::AugmentConfig;
use crate::data::Normalization;
use crate::model::precision::Compute;
use crate::model::ModelConfig;
use crate::nets::{Architecture, NetworkConfig, NetworkKind};
use crate::store::checkpoint::CheckpointError;
use crate::store::weights::WeightsError;
use crate::training::distill::DistillConfig;
use crate::training::optimizer::{OptimizerConfig, OptimizerKind, ScheduleConfig};
use crate::training::settings;

/// Everything that defines a training run. The defaults are the seed's Keras recipe.
#[derive(Config, Debug, PartialEq)]
pub struct TrainingConfig {
    /// The network, when it is not the CNN (the default): the RNN or the autoencoder, with
    /// their sizes. Optional so that runs recorded before there were other networks still read.
    pub network: Option<NetworkConfig>,
    /// The CNN's layer sizes.
    #[config(default = "ModelConfig::new()")]
    pub model: ModelConfig,
    /// Passes over the training set.
    #[config(default = "settings::EPOCHS.default_count()")]
    pub epochs: usize,
    /// Images per optimizer step.
    #[config(default = "settings::BATCH_SIZE.default_count()")]
    pub batch_size: usize,
    /// The optimizer's step size (at its peak, with a schedule).
    #[config(default = "settings::LEARNING_RATE.default")]
    pub learning_rate: f64,
    /// How the weights are updated (default Adam, the seed's).
    #[config(default = "OptimizerConfig::new()")]
    pub optimizer: OptimizerConfig,
    /// How the learning rate changes over the run (default constant).
    #[config(default = "ScheduleConfig::new()")]
    pub schedule: ScheduleConfig,
    /// L1 penalty: `l1 · Σ|w|` over the kernels (not the biases) is added to the loss.
    #[config(default = "settings::L1.default")]
    pub l1: f64,
    /// L2 penalty: `l2 · Σw²` over the kernels is added to the loss.
    #[config(default = "settings::L2.default")]
    pub l2: f64,
    /// How each training batch is transformed on the fly (default: not at all).
    #[config(default = "AugmentConfig::new()")]
    pub augment: AugmentConfig,
    /// Seeds the weight initialisation, dropout and the order of the data.
    #[config(default = "settings::SEED.default as u64")]
    pub seed: u64,
    /// Pixel scaling of the inputs.
    #[config(default = "Normalization::UnitRange")]
    pub normalization: Normalization,
    /// When to end the run before its last epoch (default: never).
    #[config(default = "EarlyStopConfig::new()")]
    pub early_stop: EarlyStopConfig,
    /// Learn from a teacher model's softened outputs as well as the labels (default: off).
    pub distill: Option<DistillConfig>,
    /// Test-set evaluations per epoch: more find the moment a target accuracy is reached
    /// sooner (each costs a forward pass over the test set).
    #[config(default = "settings::EVALS_PER_EPOCH.default_count()")]
    pub evaluations_per_epoch: usize,
    /// The arithmetic of a training step: f32, or mixed precision (f16 with f32 weights).
    #[config(default = "Compute::F32")]
    pub compute: Compute,
    /// Gradient clipping: the largest global L2 norm a step's gradient may have.
    #[config(default = "None")]
    pub clip_norm: Option<f64>,
}

impl TrainingConfig {
    /// Refuses settings that cannot train, with a sentence saying which and why.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |message: String| Err(TrainError::Config(message));
        settings::check_all(&[
            (settings::EPOCHS, self.epochs as f64),
            (settings::BATCH_SIZE, self.batch_size as f64),
            (settings::LEARNING_RATE, self.learning_rate),
            (settings::SEED, self.seed as f64),
            (settings::L1, self.l1),
            (settings::L2, self.l2),
            (settings::EVALS_PER_EPOCH, self.evaluations_per_epoch as f64),
            (
                settings::CLIP_NORM,
                self.clip_norm.unwrap_or(settings::CLIP_NORM.default),
            ),
        ])
        .map_err(TrainError::Config)?;
        if let Normalization::MeanStd { mean, std } = self.normalization {
            if !mean.is_finite() || !std.is_finite() || std <= 0.0 {
                return bad(format!(
                    "normalization needs a finite mean and std > 0, got {mean}, {std}"
                ));
            }
        }
        self.optimizer.validate().map_err(TrainError::Config)?;
        self.schedule.validate().map_err(TrainError::Config)?;
        self.augment.validate().map_err(TrainError::Config)?;
        self.early_stop.validate().map_err(TrainError::Config)?;
        (self.compute.validate(&self.model)).map_err(TrainError::Config)?;
        if let Some(distill) = &self.distill {
            distill.validate().map_err(TrainError::Config)?;
        }
        self.model.validate().map_err(TrainError::Config)?;
        self.validate_network().map_err(TrainError::Config)
    }

    /// The network this run trains, with all its sizes.
    pub fn architecture(&self) -> Architecture {
        Architecture {
            network: self.network.clone().unwrap_or_default(),
            cnn: self.model.clone(),
        }
    }

    /// Refuses what only the CNN (or only a classifier) offers, for the other networks.
    fn validate_network(&self) -> Result<(), String> {
        let kind = self.architecture().kind();
        let refuse = |what: &str, only: &str| {
            Err(format!(
                "{what} is offered for {only} only, not for {}",
                kind.describe()
            ))
        };
        if kind != NetworkKind::Cnn {
            if self.compute != crate::model::precision::Compute::F32 {
                return refuse("mixed precision (f16)", "the CNN");
            }
            if self.distill.is_some() {
                return refuse("distillation", "the CNN");
            }
        }
        if !kind.classifies() {
            if self.augment.mixup.is_some() {
                return refuse("mixup", "the classifiers");
            }
            if self.early_stop.target.is_some() || self.early_stop.patience.is_some() {
                return refuse(
                    "early stopping (it watches the test accuracy)",
                    "the classifiers",
                );
            }
            if self.normalization != Normalization::UnitRange {
                return Err(
                    "the autoencoder draws pixels in [0, 1]: it needs inputs scaled to [0, 1]"
                        .into(),
                );
            }
        }
        self.architecture().validate()
    }

    /// Whether the weights change once per epoch (gradient descent) instead of every batch.
    pub(crate) fn full_batch(&self) -> bool {
        self.optimizer.kind == OptimizerKind::Gd
    }
}

/// Why training stopped or could not start.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainError {
    /// A setting is out of range.
    Config(String),
    /// There is nothing to train on or evaluate.
    EmptyData,
    /// The loss became NaN, infinite or absurdly large: the weights are no longer usable.
    Diverged {
        epoch: usize,
        step: usize,
        loss: f32,
    },
    /// The device failed to run or read back a computation (e.g. a lost GPU).
    Device(String),
    /// The weights a run was to start from were refused.
    Weights(WeightsError),
    /// A checkpoint was refused, does not fit the run, or could not be written.
    Checkpoint(CheckpointError),
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(message) => write!(f, "invalid setting: {message}"),
            Self::EmptyData => write!(f, "the dataset is empty"),
            Self::Diverged { epoch, step, loss } => write!(
                f,
                "training diverged at epoch {epoch}, step {step} (loss {loss}): try a lower learning rate"
            ),
            Self::Device(message) => write!(f, "the device failed: {message}"),
            Self::Weights(e) => write!(f, "cannot start from these weights: {e}"),
            Self::Checkpoint(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TrainError {}
