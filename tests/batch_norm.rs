//! The BatchNorm variant: batch statistics in training, running statistics in evaluation, the
//! running statistics saved with the weights, and the variant recorded so a file for the other
//! variant is refused.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use futures_lite::future::block_on;
use kindling::cost;
use kindling::data::Normalization;
use kindling::model::{Model, ModelConfig};
use kindling::nets::Network;
use kindling::store::weights::{self, WeightsError, WeightsHeader};
use kindling::training::{Start, Trainer, TrainingConfig};

fn bn() -> ModelConfig {
    ModelConfig::new().with_batch_norm(true).with_dropout(0.0)
}

fn header(model: &ModelConfig) -> WeightsHeader {
    WeightsHeader::new(model.clone(), Normalization::UnitRange, "toy", 0, None)
}

/// The first image's logits when it is batched with `others`.
fn first_logits(model: &Model, first: &Tensor<4>, others: &Tensor<4>) -> Vec<f32> {
    let batch = Tensor::cat(vec![first.clone(), others.clone()], 0);
    model
        .forward(batch)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()[..10]
        .to_vec()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4)
}

#[test]
fn training_uses_the_batch_statistics_and_evaluation_the_running_ones() {
    let device = Device::flex();
    let training = device.clone().autodiff();
    training.seed(5);
    let model = bn().init(&training);
    let image = Tensor::<4>::random([1, 1, 28, 28], Distribution::Default, &training);
    let dim = Tensor::<4>::random([3, 1, 28, 28], Distribution::Uniform(0.0, 0.2), &training);
    let bright = Tensor::<4>::random([3, 1, 28, 28], Distribution::Uniform(0.5, 1.0), &training);
    // Training: the same image's output depends on the rest of its batch.
    assert!(!close(
        &first_logits(&model, &image, &dim),
        &first_logits(&model, &image, &bright)
    ));
    // Evaluation: it does not.
    let eval = model.valid();
    let on = |t: &Tensor<4>| Tensor::<4>::from_data(t.to_data(), &device);
    let alone_dim = first_logits(&eval, &on(&image), &on(&dim));
    assert!(close(
        &alone_dim,
        &first_logits(&eval, &on(&image), &on(&bright))
    ));
    // The training passes above moved the running statistics, so a fresh model with the same
    // weights evaluates differently.
    training.seed(5);
    let fresh = bn().init(&training).valid();
    assert!(!close(
        &alone_dim,
        &first_logits(&fresh, &on(&image), &on(&dim))
    ));
}

#[test]
fn the_running_statistics_are_saved_with_the_weights() {
    let device = Device::flex();
    let mut trainer = Trainer::open(
        TrainingConfig::new().with_model(bn()).with_batch_size(20),
        common::toy_dataset(60),
        &device,
        Start::Fresh,
    )
    .unwrap();
    for _ in 0..3 {
        block_on(trainer.step()).unwrap();
    }
    let model = trainer.model();
    let images = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &device);
    let bytes = weights::to_bytes(&model, &header(&bn())).unwrap();
    let (loaded, header) = weights::from_bytes(&bytes, &device).unwrap();
    assert!(header.model.batch_norm);
    let out = |m: &kindling::nets::Network| {
        m.forward(images.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    assert_eq!(out(&loaded), out(&model));
}

#[test]
fn a_file_for_the_other_variant_is_refused_with_both_named() {
    let device = Device::flex();
    let plain = weights::to_bytes(
        &Network::Cnn(ModelConfig::new().init(&device)),
        &header(&ModelConfig::new()),
    )
    .unwrap();
    let normed = weights::to_bytes(&Network::Cnn(bn().init(&device)), &header(&bn())).unwrap();
    for (bytes, expected) in [(&plain, bn()), (&normed, ModelConfig::new())] {
        match weights::from_bytes_for(bytes, &expected.into(), &device) {
            Err(e @ WeightsError::WrongModel { .. }) => {
                assert!(e.to_string().contains("BatchNorm"), "{e}")
            }
            other => panic!("expected WrongModel, got {:?}", other.map(|(_, h)| h)),
        }
    }
    // Dropout has no weights: a different rate still fits.
    let rate = bn().with_dropout(0.3).into();
    assert!(weights::from_bytes_for(&normed, &rate, &device).is_ok());
}

#[test]
fn headers_from_before_batch_norm_load_as_the_plain_model() {
    // The shipped weights were written before the variant existed.
    let shipped = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/weights/mnist-cnn.kndl"
    ))
    .unwrap();
    let (header, _) = weights::read_header(&shipped).unwrap();
    assert!(!header.model.batch_norm);
}

#[test]
fn batch_norm_adds_a_scale_and_a_shift_per_channel() {
    assert_eq!(cost::params(&bn()), 121_930 + 2 * (32 + 64));
    assert_eq!(
        cost::forward_flops(&bn()) - cost::forward_flops(&ModelConfig::new()),
        2.0 * (32 * 13 * 13 + 64 * 5 * 5) as f64
    );
}
