//! What a run reports to the page, as JSON: each step, and each evaluation with its views.

use serde::Serialize;

use super::json;
use crate::cost::ledger::CostReport;
use crate::data::Dataset;
use crate::inspect::Health;
use crate::training::metrics::Report;
use crate::training::Evaluation;

#[derive(Serialize)]
pub(super) struct StepJson {
    /// The epoch this step belongs to, from 1, counted over the whole run (a continued run
    /// goes on counting), and the run's number of epochs.
    pub(super) epoch: usize,
    pub(super) epochs: usize,
    /// The step within its epoch, from 1.
    pub(super) step: usize,
    pub(super) steps_per_epoch: usize,
    /// Steps done in the whole run, and the run's total.
    pub(super) steps_done: usize,
    pub(super) total_steps: usize,
    /// Epochs of the run fully done, and of the model in all (with those of the weights it
    /// started from): a weights file saved now records the latter.
    pub(super) epochs_done: usize,
    pub(super) model_epochs: usize,
    pub(super) loss: f32,
    /// The regularization penalty added to the loss (0 without).
    pub(super) penalty: f32,
    pub(super) learning_rate: f64,
    pub(super) samples_seen: usize,
    /// Training images a second of the device's working time.
    pub(super) samples_per_second: f64,
    /// Seconds the device has worked on the run (before a checkpoint too), and the seconds
    /// left at this rate.
    pub(super) seconds: f64,
    pub(super) eta_seconds: f64,
    pub(super) epoch_done: bool,
    pub(super) finished: bool,
    /// What the run has spent so far.
    pub(super) cost: CostReport,
    /// Per layer: gradient norm and update ratio, on the steps that measure them.
    pub(super) health: Option<Health>,
}

#[derive(Serialize)]
struct EvaluationJson {
    /// A classifier's cross-entropy, an autoencoder's reconstruction error.
    loss: f32,
    /// A classifier's test accuracy; none for an autoencoder.
    accuracy: Option<f32>,
    /// Why early stopping ends the run here, if it does.
    stop: Option<String>,
    /// What the run has spent, this evaluation included.
    cost: CostReport,
    /// The predicted class of the first `SHOWN` test images, for the results grid.
    predictions: Vec<u8>,
    /// A classifier's confusion matrix, per-class accuracy and most confident mistakes.
    report: Option<Report>,
    /// The 28×28 pixels of each of the report's mistakes, in its order.
    mistake_images: Vec<Vec<u8>>,
    /// The confusion matrix as CSV, for the page's export.
    confusion_csv: Option<String>,
    /// An autoencoder's reconstructions of the first `RECONSTRUCTED` test images, 28×28
    /// pixels (0–255) each, concatenated.
    reconstructions: Option<Vec<u8>>,
}

/// Test images an autoencoder's evaluation shows reconstructed, beside the originals.
pub(super) const RECONSTRUCTED: usize = 24;

/// Mistakes the page shows after each epoch, most confident first.
const MISTAKES_SHOWN: usize = 24;

/// Test images whose predictions the page shows after each epoch.
pub(super) const SHOWN: usize = 100;

/// The page's view of an evaluation: the first predictions, the report and its mistakes.
pub(super) fn evaluation_json(
    evaluation: &Evaluation,
    test: &Dataset,
    stop: Option<String>,
    cost: CostReport,
    reconstructions: Option<Vec<u8>>,
) -> String {
    let shown = evaluation.predictions.len().min(SHOWN);
    let report = Report::new(evaluation, test.labels(), MISTAKES_SHOWN);
    let mistake_images = (report.iter())
        .flat_map(|r| &r.most_confident_mistakes)
        .map(|m| test.image(m.index).to_vec())
        .collect();
    json(&EvaluationJson {
        loss: evaluation.loss,
        accuracy: evaluation.accuracy,
        stop,
        cost,
        predictions: evaluation.predictions[..shown].to_vec(),
        confusion_csv: report.as_ref().map(Report::confusion_csv),
        report,
        mistake_images,
        reconstructions,
    })
}
