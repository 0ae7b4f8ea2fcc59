//! How the weights are updated: the optimizer with its settings, and the learning rate over the
//! run. Plain configuration that builds burn's optimizers (and, in the WebGPU build, a fused
//! Adam); the defaults are Keras's.

use burn::config::Config;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer, RmsPropConfig, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::store::optimizer_state::Portable;
use crate::training::settings;

/// The update rules of the original text, from plain gradient descent to AdamW.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Gradient descent: one update per epoch, with the gradient of the whole training set
    /// (summed batch by batch, so memory stays that of one batch).
    Gd,
    /// Stochastic gradient descent: one update per batch.
    Sgd,
    /// SGD with momentum: `v ← μ·v + g`, `w ← w − lr·v`.
    Momentum,
    /// SGD with Nesterov momentum: `w ← w − lr·(g + μ·v)`.
    Nesterov,
    /// RMSprop: each weight's step divided by a running root mean square of its gradients.
    Rmsprop,
    /// Adam: running averages of the gradient and its square, bias-corrected.
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

impl OptimizerKind {
    pub const ALL: [OptimizerKind; 7] = [
        Self::Gd,
        Self::Sgd,
        Self::Momentum,
        Self::Nesterov,
        Self::Rmsprop,
        Self::Adam,
        Self::Adamw,
    ];

    /// Keras's default learning rate for this optimizer; for gradient descent, which Keras
    /// lacks and which takes one step an epoch, a larger one.
    pub fn default_learning_rate(self) -> f64 {
        match self {
            Self::Gd => 0.1,
            Self::Sgd | Self::Momentum | Self::Nesterov => 0.01,
            Self::Rmsprop | Self::Adam | Self::Adamw => 0.001,
        }
    }

    /// Keras's default weight decay for this optimizer: AdamW's 0.004, else none.
    pub fn default_weight_decay(self) -> f64 {
        match self {
            Self::Adamw => 0.004,
            _ => 0.0,
        }
    }
}

/// The optimizer and its settings; each setting is used only by the optimizers named on it.
#[derive(Config, Debug, PartialEq)]
pub struct OptimizerConfig {
    #[config(default = "OptimizerKind::Adam")]
    pub kind: OptimizerKind,
    /// Momentum and Nesterov: the fraction of the previous step kept.
    #[config(default = "settings::MOMENTUM.default")]
    pub momentum: f64,
    /// RMSprop: decay of the running mean of squared gradients (Keras's `rho`).
    #[config(default = "settings::RHO.default")]
    pub rho: f64,
    /// Adam and AdamW: decay of the running mean of gradients.
    #[config(default = "settings::BETA1.default")]
    pub beta1: f64,
    /// Adam and AdamW: decay of the running mean of squared gradients.
    #[config(default = "settings::BETA2.default")]
    pub beta2: f64,
    /// RMSprop, Adam and AdamW: added to the denominator so it is never zero.
    #[config(default = "settings::EPSILON.default")]
    pub epsilon: f64,
    /// Weight decay: AdamW's decoupled decay (Keras's default 0.004), or for the others a
    /// decay added to the gradient (`g + decay·w`, an L2 penalty in disguise). 0 turns it off.
    #[config(default = "settings::WEIGHT_DECAY.default")]
    pub weight_decay: f64,
}

impl OptimizerConfig {
    /// Refuses settings outside their ranges, with a sentence saying which.
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::MOMENTUM, self.momentum),
            (settings::RHO, self.rho),
            (settings::BETA1, self.beta1),
            (settings::BETA2, self.beta2),
            (settings::EPSILON, self.epsilon),
            (settings::WEIGHT_DECAY, self.weight_decay),
        ])
    }

    /// burn's optimizer for these settings, its state readable on any device (a checkpoint
    /// reads it back: `optimizer_state`).
    pub fn init(&self) -> ModuleOptimizer {
        let decay =
            (self.weight_decay > 0.0).then(|| WeightDecayConfig::new(self.weight_decay as f32));
        let (beta1, beta2, epsilon) = (self.beta1 as f32, self.beta2 as f32, self.epsilon as f32);
        match self.kind {
            OptimizerKind::Gd | OptimizerKind::Sgd => {
                Portable(SgdConfig::new().with_weight_decay(decay).build()).into()
            }
            OptimizerKind::Momentum | OptimizerKind::Nesterov => {
                // No dampening: the gradient enters the velocity whole, as in Keras.
                let momentum = MomentumConfig::new()
                    .with_momentum(self.momentum)
                    .with_dampening(0.0)
                    .with_nesterov(self.kind == OptimizerKind::Nesterov);
                let sgd = SgdConfig::new()
                    .with_momentum(Some(momentum))
                    .with_weight_decay(decay);
                Portable(sgd.build()).into()
            }
            OptimizerKind::Rmsprop => {
                let rmsprop = RmsPropConfig::new()
                    .with_alpha(self.rho as f32)
                    .with_momentum(0.0)
                    .with_epsilon(epsilon)
                    .with_weight_decay(decay);
                Portable(rmsprop.build()).into()
            }
            // On WebGPU, one fused kernel per tensor: `kernels` chooses.
            OptimizerKind::Adam => crate::kernels::adam(beta1, beta2, epsilon, decay),
            OptimizerKind::Adamw => {
                let adamw = AdamWConfig::new()
                    .with_beta_1(beta1)
                    .with_beta_2(beta2)
                    .with_epsilon(epsilon)
                    .with_weight_decay(self.weight_decay as f32);
                Portable(adamw.build()).into()
            }
        }
    }
}

/// How the learning rate changes over a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The same rate throughout.
    Constant,
    /// Multiplied by `factor` every `every_epochs` epochs.
    Step,
    /// A linear warm-up over `warmup_epochs`, then half a cosine down to 0 at the end.
    Cosine,
}

/// The learning-rate schedule and its settings.
#[derive(Config, Debug, PartialEq)]
pub struct ScheduleConfig {
    #[config(default = "ScheduleKind::Constant")]
    pub kind: ScheduleKind,
    /// Step decay: epochs between two decays.
    #[config(default = "settings::DECAY_EVERY.default_count()")]
    pub every_epochs: usize,
    /// Step decay: what the rate is multiplied by at each decay.
    #[config(default = "settings::DECAY_FACTOR.default")]
    pub factor: f64,
    /// Cosine: epochs of linear warm-up (may be fractional; 0 for none).
    #[config(default = "settings::WARMUP.default")]
    pub warmup_epochs: f64,
}

impl ScheduleConfig {
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::DECAY_EVERY, self.every_epochs as f64),
            (settings::DECAY_FACTOR, self.factor),
            (settings::WARMUP, self.warmup_epochs),
        ])
    }

    /// The rate for 0-based `step` of a run of `total` steps, `per_epoch` a epoch, from `base`.
    pub fn learning_rate(&self, base: f64, step: usize, per_epoch: usize, total: usize) -> f64 {
        match self.kind {
            ScheduleKind::Constant => base,
            ScheduleKind::Step => {
                let decays = step / per_epoch.max(1) / self.every_epochs;
                base * self.factor.powi(decays as i32)
            }
            ScheduleKind::Cosine => {
                let warmup = (self.warmup_epochs * per_epoch as f64).round() as usize;
                if step < warmup {
                    return base * (step + 1) as f64 / warmup as f64;
                }
                let progress =
                    (step - warmup) as f64 / (total.saturating_sub(warmup)).max(1) as f64;
                base * 0.5 * (1.0 + (std::f64::consts::PI * progress.min(1.0)).cos())
            }
        }
    }
}
