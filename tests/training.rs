//! A short real training run: the whole story at small scale, and an accuracy threshold that
//! doubles as the test (tinygrad's beautiful_mnist style).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;
use kindling::data::Split;
use kindling::training::metrics::Report;
use kindling::training::{evaluate, Start, Trainer, TrainingConfig};

#[test]
fn two_thousand_images_teach_ninety_percent() {
    let train = common::mnist(Split::Train).limit(2000);
    let held_out = common::mnist(Split::Test).limit(1000);
    let config = TrainingConfig::new().with_epochs(4).with_batch_size(32);
    let device = Device::flex();
    let mut trainer = Trainer::open(config.clone(), train, &device, Start::Fresh).unwrap();

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
    let accuracy = eval.accuracy.unwrap();
    assert!(
        accuracy >= 0.90,
        "accuracy {accuracy:.3} on 1,000 held-out digits"
    );
    let per_class = Report::new(&eval, held_out.labels(), 0)
        .unwrap()
        .per_class_accuracy;
    assert!(
        per_class.iter().all(|&a| a > 0.5),
        "some class is barely learnt: {per_class:?}"
    );
}

#[test]
fn soft_targets_that_are_one_hot_give_the_usual_cross_entropy() {
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::tensor::{Distribution, Int, Tensor, TensorData};
    use kindling::training::soft_cross_entropy;
    let device = Device::flex();
    let logits = Tensor::<2>::random([6, 10], Distribution::Normal(0.0, 3.0), &device);
    let labels = [3i64, 0, 9, 9, 1, 4];
    let mut one_hot = vec![0.0f32; 60];
    for (i, &l) in labels.iter().enumerate() {
        one_hot[i * 10 + l as usize] = 1.0;
    }
    let targets = Tensor::<2>::from_data(TensorData::new(one_hot, [6, 10]), &device);
    let classes = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [6]), &device);
    let soft: f32 = soft_cross_entropy(logits.clone(), targets).into_scalar();
    let hard: f32 = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(logits, classes)
        .into_scalar();
    assert!((soft - hard).abs() < 1e-5, "{soft} vs {hard}");
}

#[test]
fn augmented_training_still_learns() {
    use kindling::data::augment::AugmentConfig;
    let augment = AugmentConfig::new()
        .with_shift(2)
        .with_rotation(10.0)
        .with_scale(0.1)
        .with_mixup(Some(0.4));
    let losses = |seed: u64| {
        let config = TrainingConfig::new()
            .with_augment(augment.clone())
            .with_batch_size(50)
            .with_seed(seed);
        let mut trainer = Trainer::open(
            config,
            common::toy_dataset(500),
            &Device::flex(),
            Start::Fresh,
        )
        .unwrap();
        (0..40)
            .map(|_| block_on(trainer.step()).unwrap().loss)
            .collect::<Vec<f32>>()
    };
    // Repeatability for a seed: tests/determinism.rs, alone in its binary.
    let first = losses(1);
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    assert!(mean(&first[35..]) < 0.75 * mean(&first[..5]), "{first:?}");
}
