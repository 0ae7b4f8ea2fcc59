//! Knowledge distillation: a small student learns from a trained teacher's softened outputs as
//! well as from the labels. On MNIST here it did not beat the same student trained on labels
//! alone, and cost the teacher's forward pass on every image (README, "What a run costs").
//! The trainer runs the teacher on each batch (`Trainer::with_teacher`); this file holds the
//! settings and the loss.

use burn::config::Config;
use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::Tensor;

use crate::training::settings;

/// Knowledge distillation (Hinton, Vinyals and Dean, 2015): the student matches the teacher's
/// probabilities softened by a temperature, as well as the labels.
#[derive(Config, Debug, PartialEq)]
pub struct DistillConfig {
    /// Softens both models' probabilities: logits are divided by it.
    #[config(default = "settings::TEMPERATURE.default")]
    pub temperature: f64,
    /// The teacher's share of the loss; the labels get the rest.
    #[config(default = "settings::ALPHA.default")]
    pub alpha: f64,
}

impl DistillConfig {
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::TEMPERATURE, self.temperature),
            (settings::ALPHA, self.alpha),
        ])
    }
}

/// The distillation loss: `alpha · T² · KL(softmax(teacher/T) ‖ softmax(student/T)) +
/// (1 − alpha) · hard`, where `hard` is the usual loss against the labels. The T² keeps the
/// soft part's gradients the same size whatever the temperature (Hinton et al.).
pub fn distillation_loss(
    student: Tensor<2>,
    teacher: Tensor<2>,
    hard: Tensor<1>,
    temperature: f64,
    alpha: f64,
) -> Tensor<1> {
    let [batch, _] = student.dims();
    let soft_teacher = softmax(teacher.div_scalar(temperature), 1); // [batch, 10]
                                                                    // Σ p·(log p − log q); p is clamped so that 0·log 0 counts as 0, not NaN.
    let log_ratio = soft_teacher.clone().clamp_min(1e-12).log()
        - log_softmax(student.div_scalar(temperature), 1);
    let kl = (soft_teacher * log_ratio).sum().div_scalar(batch as f64); // [1]
    kl.mul_scalar(alpha * temperature * temperature) + hard.mul_scalar(1.0 - alpha)
}
