//! The options of a training recipe beyond the basics, as flat settings: the command line's
//! flags and the page's form fields both arrive here, and each one left out keeps the seed's.

use serde::{Deserialize, Serialize};

use crate::distill::DistillConfig;
use crate::model::ModelConfig;
use crate::optimizer::{OptimizerKind, ScheduleKind};
use crate::precision::Compute;
use crate::training::TrainingConfig;

/// Learning rate, optimizer, schedule, regularization, model variant and augmentation. `None`
/// (or `false`) keeps the default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "native", derive(clap::Args))]
pub struct RecipeSettings {
    /// Update rule [default: adam].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate [default: Keras's for the optimizer: 0.01 for sgd, momentum and nesterov,
    /// 0.001 for the others; 0.1 for gd].
    #[cfg_attr(feature = "native", arg(long = "lr"))]
    pub learning_rate: Option<f64>,
    /// Momentum and nesterov: fraction of the previous step kept [default: 0.9].
    #[cfg_attr(feature = "native", arg(long))]
    pub momentum: Option<f64>,
    /// RMSprop: decay of the mean squared gradient [default: 0.9].
    #[cfg_attr(feature = "native", arg(long))]
    pub rho: Option<f64>,
    /// Adam, AdamW: decay of the mean gradient [default: 0.9].
    #[cfg_attr(feature = "native", arg(long))]
    pub beta1: Option<f64>,
    /// Adam, AdamW: decay of the mean squared gradient [default: 0.999].
    #[cfg_attr(feature = "native", arg(long))]
    pub beta2: Option<f64>,
    /// RMSprop, Adam, AdamW: keeps the denominator above zero [default: 1e-7].
    #[cfg_attr(feature = "native", arg(long))]
    pub epsilon: Option<f64>,
    /// Weight decay [default: 0.004 for adamw, else 0].
    #[cfg_attr(feature = "native", arg(long))]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule [default: constant].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub schedule: Option<ScheduleKind>,
    /// Step schedule: epochs between two decays [default: 3].
    #[cfg_attr(feature = "native", arg(long))]
    pub decay_every: Option<usize>,
    /// Step schedule: factor applied at each decay [default: 0.5].
    #[cfg_attr(feature = "native", arg(long))]
    pub decay_factor: Option<f64>,
    /// Cosine schedule: epochs of linear warm-up [default: 0].
    #[cfg_attr(feature = "native", arg(long))]
    pub warmup: Option<f64>,
    /// L1 penalty on the weights, added to the loss [default: 0].
    #[cfg_attr(feature = "native", arg(long))]
    pub l1: Option<f64>,
    /// L2 penalty on the weights, added to the loss [default: 0].
    #[cfg_attr(feature = "native", arg(long))]
    pub l2: Option<f64>,
    /// Dropout before the classifier; 0 turns it off [default: 0.5].
    #[cfg_attr(feature = "native", arg(long))]
    pub dropout: Option<f64>,
    /// Add BatchNorm after each convolution block (a different model: its weights say so).
    #[cfg_attr(feature = "native", arg(long))]
    pub batch_norm: bool,
    /// Augmentation: shift each image by up to N pixels (pad and crop) [default: 0].
    #[cfg_attr(feature = "native", arg(long, value_name = "PIXELS"))]
    pub shift: Option<usize>,
    /// Augmentation: mirror half the images (changes what some digits mean).
    #[cfg_attr(feature = "native", arg(long))]
    pub flip: bool,
    /// Augmentation: rotate by up to this many degrees either way [default: 0].
    #[cfg_attr(feature = "native", arg(long, value_name = "DEGREES"))]
    pub rotation: Option<f64>,
    /// Augmentation: zoom by a factor in [1 − scale, 1 + scale] [default: 0].
    #[cfg_attr(feature = "native", arg(long))]
    pub scale: Option<f64>,
    /// Augmentation: shear by up to this many degrees either way [default: 0].
    #[cfg_attr(feature = "native", arg(long, value_name = "DEGREES"))]
    pub shear: Option<f64>,
    /// Augmentation: mixup with this Beta(α, α) parameter [default: off].
    #[cfg_attr(feature = "native", arg(long, value_name = "ALPHA"))]
    pub mixup: Option<f64>,
    /// Early stopping: end the run once the test accuracy reaches this many percent.
    #[cfg_attr(feature = "native", arg(long, value_name = "PERCENT"))]
    pub stop_at: Option<f64>,
    /// Test-set evaluations per epoch, to catch a target accuracy sooner [default: 1].
    #[cfg_attr(feature = "native", arg(long, value_name = "N"))]
    pub evals_per_epoch: Option<usize>,
    /// Early stopping: end the run after this many evaluations without a gain of 0.1 point.
    #[cfg_attr(feature = "native", arg(long, value_name = "EPOCHS"))]
    pub patience: Option<usize>,
    /// The small student model: conv 8/16, dense 16, no dropout (7,834 parameters).
    #[cfg_attr(feature = "native", arg(long))]
    pub student: bool,
    /// Filters of the first convolution [default: 32; student 8].
    #[cfg_attr(feature = "native", arg(long))]
    pub conv1: Option<usize>,
    /// Filters of the second convolution [default: 64; student 16].
    #[cfg_attr(feature = "native", arg(long))]
    pub conv2: Option<usize>,
    /// Width of the hidden dense layer [default: 64; student 16].
    #[cfg_attr(feature = "native", arg(long))]
    pub hidden: Option<usize>,
    /// Distillation: temperature that softens the teacher's and student's outputs [default: 4].
    #[cfg_attr(feature = "native", arg(long))]
    pub temperature: Option<f64>,
    /// Distillation: the teacher's share of the loss, the labels getting the rest [default: 0.9].
    #[cfg_attr(feature = "native", arg(long))]
    pub alpha: Option<f64>,
    /// Arithmetic of the training steps: f32, or f16 with f32 weights (mixed precision)
    /// [default: f32].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub compute: Option<Compute>,
}

impl RecipeSettings {
    /// `config` with every setting given here. Choosing an optimizer brings its default
    /// learning rate and weight decay, unless they are given too.
    pub fn apply(&self, mut config: TrainingConfig) -> TrainingConfig {
        if self.student {
            config.model = ModelConfig::student().with_batch_norm(config.model.batch_norm);
        }
        let model = &mut config.model;
        model.conv1_channels = self.conv1.unwrap_or(model.conv1_channels);
        model.conv2_channels = self.conv2.unwrap_or(model.conv2_channels);
        model.hidden = self.hidden.unwrap_or(model.hidden);
        let stop = &mut config.early_stop;
        stop.target = self
            .stop_at
            .map(|percent| (percent / 100.0) as f32)
            .or(stop.target);
        stop.patience = self.patience.or(stop.patience);
        config.evaluations_per_epoch = self.evals_per_epoch.unwrap_or(config.evaluations_per_epoch);
        let optimizer = &mut config.optimizer;
        if let Some(kind) = self.optimizer {
            optimizer.kind = kind;
            optimizer.weight_decay = kind.default_weight_decay();
            config.learning_rate = kind.default_learning_rate();
        }
        let fields = [
            (&mut optimizer.momentum, self.momentum),
            (&mut optimizer.rho, self.rho),
            (&mut optimizer.beta1, self.beta1),
            (&mut optimizer.beta2, self.beta2),
            (&mut optimizer.epsilon, self.epsilon),
            (&mut optimizer.weight_decay, self.weight_decay),
            (&mut config.schedule.factor, self.decay_factor),
            (&mut config.schedule.warmup_epochs, self.warmup),
            (&mut config.learning_rate, self.learning_rate),
            (&mut config.l1, self.l1),
            (&mut config.l2, self.l2),
            (&mut config.model.dropout, self.dropout),
            (&mut config.augment.rotation, self.rotation),
            (&mut config.augment.scale, self.scale),
            (&mut config.augment.shear, self.shear),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                *field = value;
            }
        }
        if let Some(kind) = self.schedule {
            config.schedule.kind = kind;
        }
        if let Some(every) = self.decay_every {
            config.schedule.every_epochs = every;
        }
        config.model.batch_norm |= self.batch_norm;
        config.compute = self.compute.unwrap_or(config.compute);
        let augment = &mut config.augment;
        augment.flip |= self.flip;
        augment.shift = self.shift.unwrap_or(augment.shift);
        augment.mixup = self.mixup.or(augment.mixup);
        config
    }

    /// How to distil, for a run that has a teacher: the defaults with the settings given here.
    pub fn distill(&self) -> DistillConfig {
        let defaults = DistillConfig::new();
        DistillConfig {
            temperature: self.temperature.unwrap_or(defaults.temperature),
            alpha: self.alpha.unwrap_or(defaults.alpha),
        }
    }
}

/// Named recipes: the seed's, and the best this toolkit found (README, "Recipes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The seed's Keras recipe: Adam 1e-3, dropout 0.5, nothing else.
    #[default]
    Seed,
    /// BatchNorm; shift, rotation and zoom augmentation; Adam peaking at 3e-3 on a cosine
    /// schedule with a one-epoch warm-up: 99.51% in 10 epochs with the default seed (README).
    Best,
}

impl Preset {
    /// The preset's settings; apply other settings over them to change one thing.
    pub fn settings(self) -> RecipeSettings {
        match self {
            Preset::Seed => RecipeSettings::default(),
            Preset::Best => RecipeSettings {
                batch_norm: true,
                shift: Some(2),
                rotation: Some(10.0),
                scale: Some(0.1),
                schedule: Some(ScheduleKind::Cosine),
                learning_rate: Some(0.003),
                warmup: Some(1.0),
                ..RecipeSettings::default()
            },
        }
    }
}
