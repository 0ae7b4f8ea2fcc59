//! The evaluation views count what they say: the confusion matrix, per-class accuracy, the most
//! confident mistakes, and their CSV and JSON forms.
#![cfg(not(target_arch = "wasm32"))]

use kindling::training::metrics::Report;
use kindling::training::Evaluation;

/// Six images: two 0s (one read as 6), three 1s (one read as 7), one 2.
fn report(mistakes: usize) -> Report {
    let labels = [0, 0, 1, 1, 1, 2];
    let evaluation = Evaluation {
        images: 6,
        loss: 0.5,
        accuracy: Some(4.0 / 6.0),
        predictions: vec![0, 6, 1, 7, 1, 2],
        confidences: vec![0.9, 0.6, 0.8, 0.95, 0.7, 0.99],
    };
    Report::new(&evaluation, &labels, mistakes).unwrap()
}

#[test]
fn the_confusion_matrix_counts_each_label_and_answer() {
    let report = report(10);
    assert_eq!(report.confusion[0][0], 1);
    assert_eq!(report.confusion[0][6], 1);
    assert_eq!(report.confusion[1][1], 2);
    assert_eq!(report.confusion[1][7], 1);
    assert_eq!(report.confusion[2][2], 1);
    let total: usize = report.confusion.iter().flatten().sum();
    assert_eq!(total, 6, "every image counted once");
    assert_eq!(report.per_class_accuracy[..4], [0.5, 2.0 / 3.0, 1.0, 0.0]);
}

#[test]
fn mistakes_come_most_confident_first_and_only_wrong_ones() {
    let report = report(10);
    let shown: Vec<_> = report
        .most_confident_mistakes
        .iter()
        .map(|m| (m.index, m.label, m.predicted))
        .collect();
    assert_eq!(shown, [(3, 1, 7), (1, 0, 6)]);
    assert_eq!(report.most_confident_mistakes[0].confidence, 0.95);
    assert_eq!(self::report(1).most_confident_mistakes.len(), 1, "capped");
}

#[test]
fn the_views_export_as_csv_and_json() {
    let report = report(10);
    let csv = report.confusion_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 11, "a header and ten classes");
    assert_eq!(lines[0], "label,0,1,2,3,4,5,6,7,8,9,accuracy");
    assert_eq!(lines[1], "0,1,0,0,0,0,0,1,0,0,0,0.5000");
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["confusion"][1][7], 1);
    assert_eq!(json["most_confident_mistakes"][0]["predicted"], 7);
    assert!(report.confusion_table().contains("66.67%"));
}
