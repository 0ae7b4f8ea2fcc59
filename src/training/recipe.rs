//! The options of a training recipe beyond the basics, as flat settings: the command line's
//! flags and the page's form fields both arrive here, and each one left out keeps the seed's.

use serde::{Deserialize, Serialize};

use crate::cost::energy::EnergySettings;
use crate::model::precision::Compute;
use crate::model::ModelConfig;
use crate::nets::{Cell, NetworkConfig, NetworkKind};
use crate::training::distill::DistillConfig;
use crate::training::optimizer::{OptimizerKind, ScheduleKind};
#[cfg(feature = "native")]
use crate::training::settings::parser;
use crate::training::settings::*;
use crate::training::TrainingConfig;

/// Learning rate, optimizer, schedule, regularization, model variant and augmentation. `None`
/// (or `false`) keeps the default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "native", derive(clap::Args))]
pub struct RecipeSettings {
    /// The network to train [default: cnn].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub network: Option<NetworkKind>,
    /// The RNN's recurrent cell [default: lstm].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub cell: Option<Cell>,
    #[cfg_attr(feature = "native", arg(long = UNITS.flag, value_parser = parser::<usize>(UNITS), help = UNITS.help_line()))]
    pub units: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = BOTTLENECK.flag, value_parser = parser::<usize>(BOTTLENECK), help = BOTTLENECK.help_line()))]
    pub bottleneck: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = NOISE.flag, value_parser = parser::<f64>(NOISE), help = NOISE.help_line()))]
    pub noise: Option<f64>,
    /// Update rule [default: adam].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub optimizer: Option<OptimizerKind>,
    #[cfg_attr(feature = "native", arg(long = LEARNING_RATE.flag, value_parser = parser::<f64>(LEARNING_RATE), help = LEARNING_RATE.help_line()))]
    pub learning_rate: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = MOMENTUM.flag, value_parser = parser::<f64>(MOMENTUM), help = MOMENTUM.help_line()))]
    pub momentum: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = RHO.flag, value_parser = parser::<f64>(RHO), help = RHO.help_line()))]
    pub rho: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = BETA1.flag, value_parser = parser::<f64>(BETA1), help = BETA1.help_line()))]
    pub beta1: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = BETA2.flag, value_parser = parser::<f64>(BETA2), help = BETA2.help_line()))]
    pub beta2: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = EPSILON.flag, value_parser = parser::<f64>(EPSILON), help = EPSILON.help_line()))]
    pub epsilon: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = WEIGHT_DECAY.flag, value_parser = parser::<f64>(WEIGHT_DECAY), help = WEIGHT_DECAY.help_line()))]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule [default: constant].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub schedule: Option<ScheduleKind>,
    #[cfg_attr(feature = "native", arg(long = DECAY_EVERY.flag, value_parser = parser::<usize>(DECAY_EVERY), help = DECAY_EVERY.help_line()))]
    pub decay_every: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = DECAY_FACTOR.flag, value_parser = parser::<f64>(DECAY_FACTOR), help = DECAY_FACTOR.help_line()))]
    pub decay_factor: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = WARMUP.flag, value_parser = parser::<f64>(WARMUP), help = WARMUP.help_line()))]
    pub warmup: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = L1.flag, value_parser = parser::<f64>(L1), help = L1.help_line()))]
    pub l1: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = L2.flag, value_parser = parser::<f64>(L2), help = L2.help_line()))]
    pub l2: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = DROPOUT.flag, value_parser = parser::<f64>(DROPOUT), help = DROPOUT.help_line()))]
    pub dropout: Option<f64>,
    /// Add BatchNorm after each convolution block (a different model: its weights say so).
    #[cfg_attr(feature = "native", arg(long))]
    pub batch_norm: bool,
    #[cfg_attr(feature = "native", arg(long = SHIFT.flag, value_parser = parser::<usize>(SHIFT), help = SHIFT.help_line()))]
    pub shift: Option<usize>,
    /// Augmentation: mirror half the images (changes what some digits mean).
    #[cfg_attr(feature = "native", arg(long))]
    pub flip: bool,
    #[cfg_attr(feature = "native", arg(long = ROTATION.flag, value_parser = parser::<f64>(ROTATION), help = ROTATION.help_line()))]
    pub rotation: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = SCALE.flag, value_parser = parser::<f64>(SCALE), help = SCALE.help_line()))]
    pub scale: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = SHEAR.flag, value_parser = parser::<f64>(SHEAR), help = SHEAR.help_line()))]
    pub shear: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = MIXUP.flag, value_parser = parser::<f64>(MIXUP), help = MIXUP.help_line()))]
    pub mixup: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = CLIP_NORM.flag, value_parser = parser::<f64>(CLIP_NORM), help = CLIP_NORM.help_line()))]
    pub clip_norm: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = STOP_AT.flag, value_parser = parser::<f64>(STOP_AT), help = STOP_AT.help_line()))]
    pub stop_at: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = EVALS_PER_EPOCH.flag, value_parser = parser::<usize>(EVALS_PER_EPOCH), help = EVALS_PER_EPOCH.help_line()))]
    pub evals_per_epoch: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = PATIENCE.flag, value_parser = parser::<usize>(PATIENCE), help = PATIENCE.help_line()))]
    pub patience: Option<usize>,
    /// The small student model: conv 8/16, dense 16, no dropout (7,834 parameters).
    #[cfg_attr(feature = "native", arg(long))]
    pub student: bool,
    #[cfg_attr(feature = "native", arg(long = CONV1.flag, value_parser = parser::<usize>(CONV1), help = CONV1.help_line()))]
    pub conv1: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = CONV2.flag, value_parser = parser::<usize>(CONV2), help = CONV2.help_line()))]
    pub conv2: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = HIDDEN.flag, value_parser = parser::<usize>(HIDDEN), help = HIDDEN.help_line()))]
    pub hidden: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = TEMPERATURE.flag, value_parser = parser::<f64>(TEMPERATURE), help = TEMPERATURE.help_line()))]
    pub temperature: Option<f64>,
    #[cfg_attr(feature = "native", arg(long = ALPHA.flag, value_parser = parser::<f64>(ALPHA), help = ALPHA.help_line()))]
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
        if let Some(kind) = self.network {
            let keep = config.architecture().kind() == kind;
            if !keep {
                config.network = (kind != NetworkKind::Cnn).then(|| NetworkConfig::of(kind));
            }
        }
        match &mut config.network {
            Some(NetworkConfig::Rnn(rnn)) => {
                rnn.cell = self.cell.unwrap_or(rnn.cell);
                rnn.units = self.units.unwrap_or(rnn.units);
            }
            Some(NetworkConfig::Autoencoder(ae)) => {
                ae.bottleneck = self.bottleneck.unwrap_or(ae.bottleneck);
                ae.noise = self.noise.unwrap_or(ae.noise);
            }
            _ => {}
        }
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
        config.clip_norm = self.clip_norm.or(config.clip_norm);
        config
    }

    /// Refuses a setting of another network than `config`'s (`--units` for the CNN): it would
    /// silently change nothing.
    pub fn check_network(&self, config: &TrainingConfig) -> Result<(), String> {
        let kind = config.architecture().kind();
        let given = [
            (NetworkKind::Rnn, "cell", self.cell.is_some()),
            (NetworkKind::Rnn, UNITS.label, self.units.is_some()),
            (
                NetworkKind::Autoencoder,
                BOTTLENECK.label,
                self.bottleneck.is_some(),
            ),
            (NetworkKind::Autoencoder, NOISE.label, self.noise.is_some()),
        ];
        let cnn_only = self.student
            || self.batch_norm
            || self.conv1.is_some()
            || self.conv2.is_some()
            || self.hidden.is_some()
            || self.dropout.is_some();
        if cnn_only && kind != NetworkKind::Cnn {
            return Err(format!(
                "the CNN's layer settings (student, BatchNorm, conv1, conv2, hidden, dropout) do \
                 not apply to {}",
                kind.describe()
            ));
        }
        match given.iter().find(|(owner, _, set)| *set && *owner != kind) {
            Some((owner, label, _)) => Err(format!(
                "the {label} is a setting of {}, not of {}",
                owner.describe(),
                kind.describe()
            )),
            None => Ok(()),
        }
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

/// A whole run's settings as the page's form and the command line give them: the basics, the
/// recipe and the energy assumptions. Each number left out takes its default (`settings`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "native", derive(clap::Args))]
pub struct RunSettings {
    #[cfg_attr(feature = "native", arg(long = EPOCHS.flag, value_parser = parser::<usize>(EPOCHS), help = EPOCHS.help_line()))]
    pub epochs: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = BATCH_SIZE.flag, value_parser = parser::<usize>(BATCH_SIZE), help = BATCH_SIZE.help_line()))]
    pub batch_size: Option<usize>,
    #[cfg_attr(feature = "native", arg(long = SEED.flag, value_parser = parser::<u64>(SEED), help = SEED.help_line()))]
    pub seed: Option<u64>,
    #[cfg_attr(feature = "native", arg(long = LIMIT.flag, value_parser = parser::<usize>(LIMIT), help = LIMIT.help_line()))]
    pub limit: Option<usize>,
    #[serde(flatten)]
    #[cfg_attr(feature = "native", command(flatten))]
    pub recipe: RecipeSettings,
    /// The assumptions behind the run's energy estimate (default: a desktop CPU); the command
    /// line builds them from `--power`, `--watts` and `--grid`.
    #[cfg_attr(feature = "native", arg(skip))]
    pub energy: Option<EnergySettings>,
}

impl RunSettings {
    /// `base` (the seed's recipe, or a preset's) with every setting given here.
    pub fn apply(&self, base: TrainingConfig) -> TrainingConfig {
        let mut config = self.recipe.apply(base);
        config.epochs = self.epochs.unwrap_or(config.epochs);
        config.batch_size = self.batch_size.unwrap_or(config.batch_size);
        config.seed = self.seed.unwrap_or(config.seed);
        config
    }

    /// The run these settings describe, from the seed's recipe.
    pub fn config(&self) -> TrainingConfig {
        self.apply(TrainingConfig::new())
    }

    /// Refuses what cannot run, with the sentence of the first setting at fault: the same
    /// checks, in the same words, for the page and the command line.
    pub fn validate(&self, config: &TrainingConfig) -> Result<(), String> {
        if let Some(limit) = self.limit {
            LIMIT.check(limit as f64)?;
        }
        if let Some(energy) = &self.energy {
            energy.validate()?;
        }
        self.recipe.check_network(config)?;
        config.validate().map_err(|e| e.to_string())
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
    /// schedule with a one-epoch warm-up: 99.40% in 10 epochs, the mean of three seeds (README).
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
