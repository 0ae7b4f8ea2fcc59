//! What an evaluation says beyond one accuracy: the confusion matrix, each class's accuracy and
//! the test images the model gets most confidently wrong, as a table, CSV and JSON.

use serde::Serialize;

use crate::data::NUM_CLASSES;
use crate::training::Evaluation;

/// One test image the model got wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mistake {
    /// Index in the test set.
    pub index: usize,
    pub label: u8,
    pub predicted: u8,
    /// The probability the model gave its (wrong) answer.
    pub confidence: f32,
}

/// The evaluation views of one set of predictions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub accuracy: f32,
    pub loss: f32,
    /// `confusion[label][predicted]`: how many images of class `label` got `predicted`.
    pub confusion: [[usize; NUM_CLASSES]; NUM_CLASSES],
    /// Fraction right in each class (0 for a class with no images).
    pub per_class_accuracy: [f32; NUM_CLASSES],
    /// The wrong answers given with the highest probability, highest first.
    pub most_confident_mistakes: Vec<Mistake>,
}

impl Report {
    /// The views of `evaluation` against the true `labels`, keeping the `mistakes` most
    /// confident mistakes: a classifier's only (`None` for an autoencoder's).
    pub fn new(evaluation: &Evaluation, labels: &[u8], mistakes: usize) -> Option<Self> {
        let accuracy = evaluation.accuracy?;
        let mut confusion = [[0usize; NUM_CLASSES]; NUM_CLASSES];
        for (&label, &predicted) in labels.iter().zip(&evaluation.predictions) {
            confusion[label as usize][predicted as usize] += 1;
        }
        let per_class_accuracy = std::array::from_fn(|c| {
            confusion[c][c] as f32 / confusion[c].iter().sum::<usize>().max(1) as f32
        });
        let mut wrong: Vec<Mistake> = (labels.iter().zip(&evaluation.predictions))
            .zip(&evaluation.confidences)
            .enumerate()
            .filter(|(_, ((label, predicted), _))| label != predicted)
            .map(|(index, ((&label, &predicted), &confidence))| Mistake {
                index,
                label,
                predicted,
                confidence,
            })
            .collect();
        wrong.sort_by(|a, b| {
            b.confidence
                .total_cmp(&a.confidence)
                .then(a.index.cmp(&b.index))
        });
        wrong.truncate(mistakes);
        Some(Report {
            accuracy,
            loss: evaluation.loss,
            confusion,
            per_class_accuracy,
            most_confident_mistakes: wrong,
        })
    }

    /// The confusion matrix as CSV: a header `label,0,…,9,accuracy`, then one row per class.
    pub fn confusion_csv(&self) -> String {
        let mut csv = String::from("label");
        (0..NUM_CLASSES).for_each(|c| csv += &format!(",{c}"));
        csv += ",accuracy\n";
        for (label, row) in self.confusion.iter().enumerate() {
            csv += &label.to_string();
            row.iter().for_each(|n| csv += &format!(",{n}"));
            csv += &format!(",{:.4}\n", self.per_class_accuracy[label]);
        }
        csv
    }

    /// The confusion matrix and per-class accuracy as a table for a terminal.
    pub fn confusion_table(&self) -> String {
        let mut table = String::from("true \\ predicted");
        (0..NUM_CLASSES).for_each(|c| table += &format!("{c:>6}"));
        table += "  accuracy\n";
        for (label, row) in self.confusion.iter().enumerate() {
            table += &format!("{label:>16}");
            row.iter().for_each(|n| table += &format!("{n:>6}"));
            table += &format!("  {:>7.2}%\n", 100.0 * self.per_class_accuracy[label]);
        }
        table
    }
}
