//! The seed CNN's shape and size, and that training on a fixed batch lowers the loss.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use futures_lite::future::block_on;
use kindling::cost;
use kindling::data::Normalization;
use kindling::model::ModelConfig;
use kindling::training::{Start, TrainError, Trainer, TrainingConfig};

#[test]
fn seed_model_has_the_keras_parameter_count() {
    let config = ModelConfig::new();
    let model = config.init(&Device::flex());
    assert_eq!(model.num_params(), 121_930);
    assert_eq!(cost::params(&config), 121_930);
    assert_eq!(config.flat_features(), 1600);
}

#[test]
fn forward_gives_ten_logits_per_image_and_probabilities_sum_to_one() {
    let device = Device::flex();
    let model = ModelConfig::new().init(&device);
    let images = Tensor::<4>::random([5, 1, 28, 28], Distribution::Default, &device);
    assert_eq!(model.forward(images.clone()).dims(), [5, 10]);
    let sums: Vec<f32> = model
        .probabilities(images)
        .sum_dim(1)
        .into_data()
        .try_to_vec()
        .unwrap();
    for sum in sums {
        assert!((sum - 1.0).abs() < 1e-5, "softmax row sums to {sum}");
    }
}

#[test]
fn forward_flops_match_the_hand_count() {
    // conv1 194,688 + conv2 2,230,272 + dense1 102,400 + dense2 640 multiply-adds.
    assert_eq!(
        cost::forward_flops(&ModelConfig::new()),
        2.0 * 2_527_999.0 + 2.0
    );
}

#[test]
fn loss_falls_on_a_fixed_batch() {
    let config = TrainingConfig::new().with_batch_size(40);
    let mut trainer = Trainer::open(
        config,
        common::toy_dataset(40),
        &Device::flex(),
        Start::Fresh,
    )
    .unwrap();
    let losses: Vec<f32> = (0..12)
        .map(|_| block_on(trainer.step()).unwrap().loss)
        .collect();
    assert!(
        losses[11] < 0.75 * losses[0],
        "loss should fall by a quarter on one repeated batch: {losses:?}"
    );
}

#[test]
fn bad_settings_are_refused_before_training() {
    let data = || common::toy_dataset(10);
    let cases = [
        TrainingConfig::new().with_learning_rate(0.0),
        TrainingConfig::new().with_learning_rate(f64::NAN),
        TrainingConfig::new().with_learning_rate(-1e-3),
        TrainingConfig::new().with_batch_size(0),
        TrainingConfig::new().with_epochs(0),
        TrainingConfig::new().with_model(ModelConfig::new().with_dropout(1.0)),
        TrainingConfig::new().with_model(ModelConfig::new().with_hidden(0)),
    ];
    for config in cases {
        match Trainer::open(config.clone(), data(), &Device::flex(), Start::Fresh) {
            Err(TrainError::Config(message)) => assert!(!message.is_empty()),
            Err(other) => panic!("{config:?}: expected a config error, got {other}"),
            Ok(_) => panic!("{config:?} was accepted"),
        }
    }
}

#[test]
fn an_overflowing_loss_is_reported_as_divergence() {
    // Inputs scaled by 1e37 blow the logits up as exploding weights would: the loss turns huge,
    // infinite or NaN, and the trainer must stop with `Diverged`, not go on.
    let config = TrainingConfig::new()
        .with_batch_size(10)
        .with_normalization(Normalization::MeanStd {
            mean: 0.0,
            std: 1e-37,
        });
    let mut trainer = Trainer::open(
        config,
        common::toy_dataset(10),
        &Device::flex(),
        Start::Fresh,
    )
    .unwrap();
    let probe = Tensor::<4>::ones([1, 1, 28, 28], &Device::flex());
    let before = trainer.model().forward(probe.clone()).into_data();
    match block_on(trainer.step()) {
        Err(TrainError::Diverged {
            epoch: 1,
            step: 1,
            loss,
        }) => {
            assert!(!loss.is_finite() || loss > kindling::training::DIVERGED_LOSS)
        }
        other => panic!("expected divergence at the first step, got {other:?}"),
    }
    // The last good weights stay: the diverged step's update was not kept.
    assert_eq!(trainer.model().forward(probe).into_data(), before);
}

#[test]
fn a_run_that_diverges_later_goes_back_to_the_last_weights_with_a_sane_loss() {
    // Adam at a learning rate of 10 blows the weights up within a few steps. The step that
    // sees the huge loss computed it with the weights the step before made, so the model must
    // go back one more update: to the weights that were in place when the loss was last sane.
    let config = TrainingConfig::new()
        .with_batch_size(10)
        .with_learning_rate(10.0);
    let mut trainer = Trainer::open(
        config,
        common::toy_dataset(40),
        &Device::flex(),
        Start::Fresh,
    )
    .unwrap();
    let probe = Tensor::<4>::ones([1, 1, 28, 28], &Device::flex());
    let outputs = |trainer: &Trainer| trainer.model().forward(probe.clone()).into_data();
    let mut after_each_step = vec![outputs(&trainer)];
    for step in 1..=20 {
        match block_on(trainer.step()) {
            Ok(_) => after_each_step.push(outputs(&trainer)),
            Err(TrainError::Diverged { .. }) => {
                assert!(step >= 2, "this check needs a divergence after a good step");
                assert_eq!(outputs(&trainer), after_each_step[step - 2]);
                return;
            }
            Err(other) => panic!("{other}"),
        }
    }
    panic!("a learning rate of 10 did not diverge in 20 steps");
}
