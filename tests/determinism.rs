//! The same seed gives the same run. Alone in its own test binary: burn's CPU random generator
//! is process-wide, so trainers running in parallel threads would draw from each other's stream.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;
use kindling::data::augment::AugmentConfig;
use kindling::training::{Start, Trainer, TrainingConfig};

/// With and without augmentation (which draws from its own seeded stream) and BatchNorm.
#[test]
fn same_seed_same_run_other_seed_other_run() {
    let augmented = AugmentConfig::new()
        .with_shift(2)
        .with_rotation(10.0)
        .with_scale(0.1)
        .with_mixup(Some(0.4));
    for (augment, batch_norm) in [(AugmentConfig::new(), false), (augmented, true)] {
        let run = |seed| {
            let mut config = TrainingConfig::new()
                .with_batch_size(20)
                .with_seed(seed)
                .with_augment(augment.clone());
            config.model.batch_norm = batch_norm;
            let mut trainer = Trainer::open(
                config,
                common::toy_dataset(60),
                &Device::flex(),
                Start::Fresh,
            )
            .unwrap();
            (0..3)
                .map(|_| block_on(trainer.step()).unwrap().loss)
                .collect::<Vec<f32>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
