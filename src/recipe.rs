//! The options of a training recipe beyond the basics, as flat settings: the command line's
//! flags and the page's form fields both arrive here, and each one left out keeps the seed's.

use serde::Deserialize;

use crate::optimizer::{OptimizerKind, ScheduleKind};
use crate::training::TrainingConfig;

/// Optimizer, learning-rate schedule and regularization. `None` keeps the default.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::Args))]
pub struct RecipeSettings {
    /// Update rule [default: adam].
    #[cfg_attr(feature = "native", arg(long, value_enum))]
    pub optimizer: Option<OptimizerKind>,
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
}

impl RecipeSettings {
    /// `config` with every setting given here.
    pub fn apply(&self, mut config: TrainingConfig) -> TrainingConfig {
        let optimizer = &mut config.optimizer;
        if let Some(kind) = self.optimizer {
            optimizer.kind = kind;
            optimizer.weight_decay = kind.default_weight_decay();
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
            (&mut config.l1, self.l1),
            (&mut config.l2, self.l2),
            (&mut config.model.dropout, self.dropout),
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
        config
    }
}
