//! A short real training run: the whole story at small scale, and an accuracy threshold that
//! doubles as the test (tinygrad's beautiful_mnist style).

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;
use kindling::data::Split;
use kindling::metrics::Report;
use kindling::training::{evaluate, Trainer, TrainingConfig};

#[test]
fn two_thousand_images_teach_ninety_percent() {
    let train = common::mnist(Split::Train).limit(2000);
    let held_out = common::mnist(Split::Test).limit(1000);
    let config = TrainingConfig::new().with_epochs(4).with_batch_size(32);
    let device = Device::flex();
    let mut trainer = Trainer::new(config.clone(), train, &device).unwrap();

    let mut first_loss = None;
    let mut last = None;
    while !trainer.finished() {
        let report = block_on(trainer.step()).unwrap();
        first_loss.get_or_insert(report.loss);
        last = Some(report);
    }
    let last = last.unwrap();
    assert_eq!((last.epoch, last.step, last.samples_seen), (4, 63, 8000));
    assert!(last.epoch_done);

    let eval = block_on(evaluate(
        &trainer.model(),
        &held_out,
        config.normalization,
        &device,
    ))
    .unwrap();
    assert_eq!(eval.predictions.len(), 1000);
    assert!(
        eval.loss < first_loss.unwrap(),
        "test loss {} vs first batch loss {:?}",
        eval.loss,
        first_loss
    );
    assert!(
        eval.accuracy >= 0.90,
        "accuracy {:.3} on 1,000 held-out digits",
        eval.accuracy
    );
    let per_class = Report::new(&eval, held_out.labels(), 0).per_class_accuracy;
    assert!(
        per_class.iter().all(|&a| a > 0.5),
        "some class is barely learnt: {per_class:?}"
    );
}
