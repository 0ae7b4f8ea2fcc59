//! Every number a person can set for a run, described once: its name (the page's form field and
//! the key of the run's JSON settings), its command-line flag, what it means, its default and
//! its range. The command line's flags and help, the page's form (its defaults and the sentence
//! beside a field as you type) and every configuration's `validate` read this table, so a value
//! is accepted or refused with the same sentence everywhere.

use serde::Serialize;

use crate::cost::energy::{PowerPreset, WORLD_GRID_G_PER_KWH};
use crate::data::augment::{MAX_SHEAR_DEGREES, MAX_SHIFT};

/// One end of a setting's range.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum Bound {
    /// The value itself is allowed.
    Inclusive(f64),
    /// Only values beyond it are.
    Exclusive(f64),
}

/// A number a run can be given.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Setting {
    /// The key in the run's settings (JSON) and the page's field name: `learning_rate`.
    pub name: &'static str,
    /// The command line's flag, without the dashes: `lr`.
    pub flag: &'static str,
    /// What the sentences call it: "learning rate".
    pub label: &'static str,
    /// What it does, in a sentence (the command line's help).
    pub help: &'static str,
    /// Whole numbers only.
    pub integer: bool,
    pub min: Bound,
    pub max: Bound,
    /// The value a run takes when none is given; for a setting that is off unless given
    /// (`optional`), the value the page suggests when it is switched on.
    pub default: f64,
    /// Off unless given (mixup, early stopping): leaving it out is not the default value.
    pub optional: bool,
}

impl Setting {
    /// Refuses a value outside the range, or a fraction where a whole number is needed, with
    /// the sentence every front end shows.
    pub fn check(&self, value: f64) -> Result<(), String> {
        let above = match self.min {
            Bound::Inclusive(min) => value >= min,
            Bound::Exclusive(min) => value > min,
        };
        let below = match self.max {
            Bound::Inclusive(max) => value <= max,
            Bound::Exclusive(max) => value < max,
        };
        let whole = !self.integer || value.fract() == 0.0;
        match value.is_finite() && above && below && whole {
            true => Ok(()),
            false => Err(format!("{}, got {}", self.rule(), number(value))),
        }
    }

    /// `text` as this setting's value: a number in range, or the sentence saying why not.
    pub fn parse(&self, text: &str) -> Result<f64, String> {
        let text = text.trim();
        let value: f64 = match text.parse() {
            Ok(value) => value,
            Err(_) if text.is_empty() => return Err(format!("{}, got nothing", self.rule())),
            Err(_) => return Err(format!("{}, got {text:?}", self.rule())),
        };
        self.check(value).map(|()| value)
    }

    /// "learning rate must be a number in (0, 10]": what every refusal begins with.
    pub fn rule(&self) -> String {
        let kind = if self.integer {
            "a whole number"
        } else {
            "a number"
        };
        let range = match (self.min, self.max) {
            (Bound::Inclusive(min), Bound::Inclusive(max)) => {
                format!("from {} to {}", number(min), number(max))
            }
            (min, max) => {
                let (open, low) = match min {
                    Bound::Inclusive(v) => ('[', v),
                    Bound::Exclusive(v) => ('(', v),
                };
                let (close, high) = match max {
                    Bound::Inclusive(v) => (']', v),
                    Bound::Exclusive(v) => (')', v),
                };
                format!("in {open}{}, {}{close}", number(low), number(high))
            }
        };
        format!("{} must be {kind} {range}", self.label)
    }

    /// The help line the command line prints: the meaning, then the range and default.
    pub fn help_line(&self) -> String {
        let default = match self.optional {
            true => "off unless given".to_string(),
            false => format!("default: {}", number(self.default)),
        };
        let rule = self.rule();
        let range = rule.split_once(" must be ").map_or("", |(_, r)| r);
        format!("{} [{range}; {default}]", self.help)
    }

    /// The default as a whole number, for the settings that are counts.
    pub const fn default_count(&self) -> usize {
        self.default as usize
    }
}

/// A number as a person writes it: `0.001`, `1e-7`, `60000`.
fn number(value: f64) -> String {
    if value != 0.0 && value.abs() < 1e-4 {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

const fn setting(name: &'static str, flag: &'static str, label: &'static str) -> Setting {
    Setting {
        name,
        flag,
        label,
        help: "",
        integer: false,
        min: Bound::Inclusive(0.0),
        max: Bound::Inclusive(1.0),
        default: 0.0,
        optional: false,
    }
}

use Bound::{Exclusive as Open, Inclusive as Closed};

/// The largest whole number a browser's JavaScript holds exactly, so a seed means the same
/// run on both sides.
const MAX_SEED: f64 = 9_007_199_254_740_991.0;

pub const EPOCHS: Setting = Setting {
    help: "Passes over the training set.",
    integer: true,
    min: Closed(1.0),
    max: Closed(1000.0),
    default: 10.0,
    ..setting("epochs", "epochs", "epochs")
};
/// Larger batches gain nothing on MNIST and a batch of activations must fit a browser's memory.
pub const BATCH_SIZE: Setting = Setting {
    help: "Images per optimizer step.",
    integer: true,
    min: Closed(1.0),
    max: Closed(4096.0),
    default: 128.0,
    ..setting("batch_size", "batch-size", "batch size")
};
pub const LEARNING_RATE: Setting = Setting {
    help: "The optimizer's step size, at its peak with a schedule; choosing an optimizer \
           brings Keras's rate for it (0.01 for sgd, momentum and nesterov, 0.1 for gd).",
    min: Open(0.0),
    max: Closed(10.0),
    default: 0.001,
    ..setting("learning_rate", "lr", "learning rate")
};
pub const SEED: Setting = Setting {
    help: "Seeds the weights, dropout, the order of the data and the augmentation.",
    integer: true,
    max: Closed(MAX_SEED),
    default: 42.0,
    ..setting("seed", "seed", "seed")
};
pub const LIMIT: Setting = Setting {
    help: "Train on the first N training images only (a quick run).",
    integer: true,
    min: Closed(1.0),
    max: Closed(60_000.0),
    default: 60_000.0,
    ..setting("limit", "limit", "training images")
};
pub const TEST_LIMIT: Setting = Setting {
    help: "Evaluate on the first N test images only.",
    integer: true,
    min: Closed(1.0),
    max: Closed(10_000.0),
    default: 10_000.0,
    ..setting("test_limit", "test-limit", "test images")
};
pub const MOMENTUM: Setting = Setting {
    help: "Momentum and nesterov: the fraction of the previous step kept.",
    max: Open(1.0),
    default: 0.9,
    ..setting("momentum", "momentum", "momentum")
};
pub const RHO: Setting = Setting {
    help: "RMSprop: decay of the running mean of squared gradients.",
    max: Open(1.0),
    default: 0.9,
    ..setting("rho", "rho", "rho")
};
pub const BETA1: Setting = Setting {
    help: "Adam, AdamW: decay of the running mean of gradients.",
    max: Open(1.0),
    default: 0.9,
    ..setting("beta1", "beta1", "beta 1")
};
pub const BETA2: Setting = Setting {
    help: "Adam, AdamW: decay of the running mean of squared gradients.",
    max: Open(1.0),
    default: 0.999,
    ..setting("beta2", "beta2", "beta 2")
};
pub const EPSILON: Setting = Setting {
    help: "RMSprop, Adam, AdamW: added to the denominator so it is never zero.",
    min: Open(0.0),
    default: 1e-7,
    ..setting("epsilon", "epsilon", "epsilon")
};
pub const WEIGHT_DECAY: Setting = Setting {
    help: "AdamW's decoupled decay (0.004 when adamw is chosen), or for the others a decay \
           added to the gradient; 0 turns it off.",
    ..setting("weight_decay", "weight-decay", "weight decay")
};
pub const DECAY_EVERY: Setting = Setting {
    help: "Step schedule: epochs between two decays.",
    integer: true,
    min: Closed(1.0),
    max: Closed(1000.0),
    default: 3.0,
    ..setting("decay_every", "decay-every", "decay every (epochs)")
};
pub const DECAY_FACTOR: Setting = Setting {
    help: "Step schedule: what the learning rate is multiplied by at each decay.",
    min: Open(0.0),
    default: 0.5,
    ..setting("decay_factor", "decay-factor", "decay factor")
};
pub const WARMUP: Setting = Setting {
    help: "Cosine schedule: epochs of linear warm-up (may be fractional).",
    max: Closed(1000.0),
    ..setting("warmup", "warmup", "warm-up (epochs)")
};
pub const L1: Setting = Setting {
    help: "L1 penalty: l1 · Σ|w| over the kernels is added to the loss.",
    ..setting("l1", "l1", "L1 penalty")
};
pub const L2: Setting = Setting {
    help: "L2 penalty: l2 · Σw² over the kernels is added to the loss.",
    ..setting("l2", "l2", "L2 penalty")
};
pub const DROPOUT: Setting = Setting {
    help: "Dropout before the classifier; 0 turns it off.",
    max: Open(1.0),
    default: 0.5,
    ..setting("dropout", "dropout", "dropout")
};
pub const SHIFT: Setting = Setting {
    help: "Augmentation: shift each image by up to this many pixels (pad and crop).",
    integer: true,
    max: Closed(MAX_SHIFT as f64),
    ..setting("shift", "shift", "shift (pixels)")
};
pub const ROTATION: Setting = Setting {
    help: "Augmentation: rotate by up to this many degrees either way.",
    max: Closed(180.0),
    ..setting("rotation", "rotation", "rotation (degrees)")
};
pub const SCALE: Setting = Setting {
    help: "Augmentation: zoom by a factor in [1 − scale, 1 + scale].",
    max: Open(1.0),
    ..setting("scale", "scale", "scale")
};
pub const SHEAR: Setting = Setting {
    help: "Augmentation: shear by up to this many degrees either way.",
    max: Closed(MAX_SHEAR_DEGREES),
    ..setting("shear", "shear", "shear (degrees)")
};
pub const MIXUP: Setting = Setting {
    help: "Augmentation: mixup, blending images and targets by a Beta(α, α) weight.",
    min: Open(0.0),
    max: Closed(100.0),
    default: 0.2,
    optional: true,
    ..setting("mixup", "mixup", "mixup α")
};
pub const CLIP_NORM: Setting = Setting {
    help: "Clip the gradient: scale it down whenever its global L2 norm exceeds this.",
    min: Open(0.0),
    max: Closed(1000.0),
    default: 1.0,
    optional: true,
    ..setting("clip_norm", "clip-norm", "gradient clipping norm")
};
pub const STOP_AT: Setting = Setting {
    help: "Early stopping: end the run once the test accuracy reaches this many percent.",
    min: Open(0.0),
    max: Closed(100.0),
    default: 99.0,
    optional: true,
    ..setting("stop_at", "stop-at", "the accuracy to stop at (%)")
};
pub const PATIENCE: Setting = Setting {
    help: "Early stopping: end the run after this many evaluations without a gain of 0.1 point.",
    integer: true,
    min: Closed(1.0),
    max: Closed(1000.0),
    default: 2.0,
    optional: true,
    ..setting("patience", "patience", "patience")
};
pub const EVALS_PER_EPOCH: Setting = Setting {
    help: "Test-set evaluations per epoch, to catch a target accuracy sooner.",
    integer: true,
    min: Closed(1.0),
    max: Closed(20.0),
    default: 1.0,
    ..setting(
        "evals_per_epoch",
        "evals-per-epoch",
        "evaluations per epoch",
    )
};
/// Wider layers than this would not fit a browser's memory, and MNIST gains nothing from them.
const MAX_WIDTH: f64 = 1024.0;
pub const CONV1: Setting = Setting {
    help: "Filters of the first convolution (the student has 8).",
    integer: true,
    min: Closed(1.0),
    max: Closed(MAX_WIDTH),
    default: 32.0,
    ..setting("conv1", "conv1", "filters of the first convolution")
};
pub const CONV2: Setting = Setting {
    help: "Filters of the second convolution (the student has 16).",
    integer: true,
    min: Closed(1.0),
    max: Closed(MAX_WIDTH),
    default: 64.0,
    ..setting("conv2", "conv2", "filters of the second convolution")
};
pub const HIDDEN: Setting = Setting {
    help: "Width of the hidden dense layer (the student has 16).",
    integer: true,
    min: Closed(1.0),
    max: Closed(MAX_WIDTH),
    default: 64.0,
    ..setting("hidden", "hidden", "width of the hidden layer")
};
pub const UNITS: Setting = Setting {
    help: "RNN: units of the LSTM's or GRU's hidden state.",
    integer: true,
    min: Closed(1.0),
    max: Closed(MAX_WIDTH),
    default: 128.0,
    ..setting("units", "units", "units of the recurrent layer")
};
pub const BOTTLENECK: Setting = Setting {
    help: "Autoencoder: numbers in the code a digit is squeezed into (2 draws a map).",
    integer: true,
    min: Closed(1.0),
    max: Closed(784.0),
    default: 32.0,
    ..setting("bottleneck", "bottleneck", "size of the code")
};
pub const NOISE: Setting = Setting {
    help: "Denoising autoencoder: the std of the noise added to each training input \
           (pixels in [0, 1]); 0 turns it off.",
    ..setting("noise", "noise", "noise level")
};
pub const TEMPERATURE: Setting = Setting {
    help: "Distillation: softens the teacher's and the student's outputs.",
    min: Closed(1.0),
    max: Closed(100.0),
    default: 4.0,
    ..setting("temperature", "temperature", "distillation temperature")
};
pub const ALPHA: Setting = Setting {
    help: "Distillation: the teacher's share of the loss, the labels getting the rest.",
    default: 0.9,
    ..setting("alpha", "alpha", "distillation α")
};
pub const WATTS: Setting = Setting {
    help: "The device's power draw in watts, for the energy estimate (instead of --power's).",
    min: Open(0.0),
    max: Closed(10_000.0),
    default: PowerPreset::DesktopCpu.watts(),
    ..setting("watts", "watts", "power (W)")
};
pub const GRID: Setting = Setting {
    help: "The grid's carbon intensity in gCO₂e/kWh (world average 2022, Ember).",
    max: Closed(2000.0),
    default: WORLD_GRID_G_PER_KWH,
    ..setting("grid", "grid", "grid carbon intensity (gCO₂e/kWh)")
};

/// Every setting, in the order the command line's help lists them.
pub const ALL: &[Setting] = &[
    EPOCHS,
    BATCH_SIZE,
    LEARNING_RATE,
    SEED,
    LIMIT,
    TEST_LIMIT,
    MOMENTUM,
    RHO,
    BETA1,
    BETA2,
    EPSILON,
    WEIGHT_DECAY,
    DECAY_EVERY,
    DECAY_FACTOR,
    WARMUP,
    L1,
    L2,
    DROPOUT,
    SHIFT,
    ROTATION,
    SCALE,
    SHEAR,
    MIXUP,
    CLIP_NORM,
    STOP_AT,
    PATIENCE,
    EVALS_PER_EPOCH,
    CONV1,
    CONV2,
    HIDDEN,
    UNITS,
    BOTTLENECK,
    NOISE,
    TEMPERATURE,
    ALPHA,
    WATTS,
    GRID,
];

/// Checks each value against its setting; the first refusal's sentence.
pub fn check_all(values: &[(Setting, f64)]) -> Result<(), String> {
    values
        .iter()
        .try_for_each(|(setting, value)| setting.check(*value))
}

/// The setting called `name` (its JSON key or page field).
pub fn find(name: &str) -> Option<&'static Setting> {
    ALL.iter().find(|s| s.name == name)
}

/// A clap value parser for `setting`: the number, or its sentence.
#[cfg(feature = "native")]
pub fn parser<T>(setting: Setting) -> impl Fn(&str) -> Result<T, String> + Clone + Send + Sync
where
    T: FromSetting,
{
    move |text| setting.parse(text).map(T::from_checked)
}

/// The command line's types for a checked value (whole numbers are checked to be whole).
#[cfg(feature = "native")]
pub trait FromSetting {
    fn from_checked(value: f64) -> Self;
}

#[cfg(feature = "native")]
impl FromSetting for f64 {
    fn from_checked(value: f64) -> Self {
        value
    }
}

#[cfg(feature = "native")]
impl FromSetting for usize {
    fn from_checked(value: f64) -> Self {
        value as usize
    }
}

#[cfg(feature = "native")]
impl FromSetting for u64 {
    fn from_checked(value: f64) -> Self {
        value as u64
    }
}
