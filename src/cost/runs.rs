//! Run comparison: every finished run leaves a one-line record (settings, test accuracy, wall
//! time, epochs), kept as JSON lines by the CLI and in IndexedDB by the page, so runs with
//! different settings can be set side by side.

use serde::{Deserialize, Serialize};

use crate::cost::ledger::CostReport;
use crate::model::precision::Compute;
use crate::nets::NetworkKind;
use crate::training::optimizer::ScheduleKind;
use crate::training::TrainingConfig;

/// One finished run: its settings and what it gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The settings in a few words ([`summary`]).
    pub recipe: String,
    /// The settings in full, to repeat the run.
    pub config: TrainingConfig,
    /// Written beside the settings, one JSON object per record.
    #[serde(flatten)]
    pub facts: RunFacts,
}

/// What a finished run gave and where: everything in a record but its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    /// When the run finished, in seconds since 1970 (UTC).
    pub finished_at: u64,
    /// "CPU", "flex, 2 threads" or the WebGPU adapter.
    pub device: String,
    /// Training images per epoch.
    pub images: usize,
    pub epochs: usize,
    /// A classifier's test accuracy (none for an autoencoder).
    pub test_accuracy: Option<f32>,
    /// The network's test loss: a classifier's cross-entropy, an autoencoder's reconstruction
    /// error (mean squared, pixels in [0, 1]).
    pub test_loss: f32,
    /// Wall time of training and evaluation.
    pub seconds: f64,
    /// What the run spent: FLOPs, energy and CO₂e estimates with their assumptions,
    /// milestones, early stopping (absent in records written before it was counted).
    #[serde(default)]
    pub cost: Option<CostReport>,
    /// Bytes of the dataset as downloaded.
    #[serde(default)]
    pub data_bytes: Option<u64>,
    /// Bytes of the trained model's weights file.
    #[serde(default)]
    pub model_bytes: Option<u64>,
}

impl RunRecord {
    pub fn new(config: &TrainingConfig, facts: RunFacts) -> Self {
        RunRecord {
            recipe: summary(config),
            config: config.clone(),
            facts,
        }
    }

    /// The record as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("plain data") + "\n"
    }
}

/// Reads a JSON-lines file of records; a damaged line is an error naming its number.
pub fn parse_lines(text: &str) -> Result<Vec<RunRecord>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| format!("line {}: not a run record: {e}", i + 1))
        })
        .collect()
}

/// The records as a table, one run per row, in the order given.
pub fn table(records: &[RunRecord]) -> String {
    let mut out = format!(
        "{:>3}  {:<11}  {:>8}  {:>7}  {:>6}  {:>8}  {:>8}  {:>9}  {:>10}  {:<16}  {}\n",
        "#",
        "network",
        "accuracy",
        "loss",
        "epochs",
        "time",
        "TFLOP",
        "energy",
        "to 99%",
        "device",
        "recipe"
    );
    let dash = || "—".to_string();
    for (i, r) in records.iter().enumerate() {
        let facts = &r.facts;
        let cost = facts.cost.as_ref();
        let to_99 = cost
            .and_then(|c| c.milestones.iter().find(|m| m.accuracy >= 0.99))
            .map_or_else(dash, |m| m.estimate.energy_text());
        out += &format!(
            "{:>3}  {:<11}  {:>8}  {:>7.4}  {:>6}  {:>7.0}s  {:>8}  {:>9}  {:>10}  {:<16}  {}\n",
            i + 1,
            network_name(r.config.architecture().kind()),
            (facts.test_accuracy).map_or_else(dash, |a| format!("{:.2}%", 100.0 * a)),
            facts.test_loss,
            facts.epochs,
            facts.seconds,
            cost.map_or_else(dash, |c| format!("{:.2}", c.flops / 1e12)),
            cost.map_or_else(dash, |c| c.estimate.energy_text()),
            to_99,
            facts.device,
            r.recipe
        );
    }
    out
}

/// What sets `config` apart, in a few words: the optimizer and its learning rate always, then
/// every setting that is not the seed recipe's (the random seed too), e.g. "adam lr 0.003 ·
/// cosine, warm-up 1 · BatchNorm · shift 2 · rotation 10° · seed 7".
pub fn summary(config: &TrainingConfig) -> String {
    let seed = TrainingConfig::new();
    let optimizer = serde_json::to_value(config.optimizer.kind).expect("plain enum");
    let mut parts = Vec::new();
    let architecture = config.architecture();
    if architecture.kind() != NetworkKind::Cnn {
        parts.push(architecture.describe());
    }
    parts.push(format!(
        "{} lr {}",
        optimizer.as_str().unwrap_or("?"),
        config.learning_rate
    ));
    let schedule = &config.schedule;
    match schedule.kind {
        ScheduleKind::Constant => {}
        ScheduleKind::Step => parts.push(format!(
            "step ×{} every {}",
            schedule.factor, schedule.every_epochs
        )),
        ScheduleKind::Cosine if schedule.warmup_epochs > 0.0 => {
            parts.push(format!("cosine, warm-up {}", schedule.warmup_epochs))
        }
        ScheduleKind::Cosine => parts.push("cosine".into()),
    }
    let mut push_if = |on: bool, text: String| {
        if on {
            parts.push(text)
        }
    };
    push_if(
        config.batch_size != seed.batch_size,
        format!("batch {}", config.batch_size),
    );
    let decay = config.optimizer.weight_decay;
    push_if(
        decay != config.optimizer.kind.default_weight_decay(),
        format!("decay {decay}"),
    );
    push_if(config.l1 > 0.0, format!("L1 {}", config.l1));
    push_if(config.l2 > 0.0, format!("L2 {}", config.l2));
    let clip = config.clip_norm.unwrap_or_default();
    push_if(config.clip_norm.is_some(), format!("clip norm {clip}"));
    push_if(
        config.model.dropout != seed.model.dropout,
        format!("dropout {}", config.model.dropout),
    );
    push_if(config.model.batch_norm, "BatchNorm".into());
    let augment = &config.augment;
    push_if(augment.shift > 0, format!("shift {}", augment.shift));
    push_if(augment.flip, "flip".into());
    push_if(
        augment.rotation > 0.0,
        format!("rotation {}°", augment.rotation),
    );
    push_if(augment.scale > 0.0, format!("scale {}", augment.scale));
    push_if(augment.shear > 0.0, format!("shear {}°", augment.shear));
    let model = &config.model;
    push_if(
        !model.same_weights(&seed.model.clone().with_batch_norm(model.batch_norm)),
        format!(
            "conv {}/{} dense {}",
            model.conv1_channels, model.conv2_channels, model.hidden
        ),
    );
    if let Some(alpha) = augment.mixup {
        parts.push(format!("mixup {alpha}"));
    }
    if config.compute == Compute::F16 {
        parts.push("mixed precision f16".into());
    }
    if let Some(d) = &config.distill {
        parts.push(format!("distilled T {} α {}", d.temperature, d.alpha));
    }
    let stop = &config.early_stop;
    if let Some(target) = stop.target {
        parts.push(format!(
            "stop at {}%",
            (target as f64 * 1000.0).round() / 10.0
        ));
    }
    if let Some(patience) = stop.patience {
        parts.push(format!("patience {patience}"));
    }
    if config.evaluations_per_epoch > 1 {
        parts.push(format!(
            "{} evaluations per epoch",
            config.evaluations_per_epoch
        ));
    }
    if config.seed != seed.seed {
        parts.push(format!("seed {}", config.seed));
    }
    parts.join(" · ")
}

/// The network as the command line's `--network` names it.
pub fn network_name(kind: NetworkKind) -> &'static str {
    match kind {
        NetworkKind::Cnn => "cnn",
        NetworkKind::Rnn => "rnn",
        NetworkKind::Autoencoder => "autoencoder",
    }
}

/// A test result in words: "test accuracy 99.02%, loss 0.0291" for a classifier,
/// "reconstruction error 0.0061 (mean squared)" for an autoencoder.
pub fn result_text(accuracy: Option<f32>, loss: f32) -> String {
    match accuracy {
        Some(accuracy) => format!("test accuracy {:.2}%, loss {loss:.4}", 100.0 * accuracy),
        None => format!("reconstruction error {loss:.4} (mean squared)"),
    }
}
