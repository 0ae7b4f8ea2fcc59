//! The same seed gives the same run. Alone in its own test binary: burn's CPU random generator
//! is process-wide, so trainers running in parallel threads would draw from each other's stream.

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;
use kindling::training::{Trainer, TrainingConfig};

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let run = |seed| {
        let config = TrainingConfig::new().with_batch_size(20).with_seed(seed);
        let mut trainer = Trainer::new(config, common::toy_dataset(60), &Device::flex()).unwrap();
        (0..3)
            .map(|_| block_on(trainer.step()).unwrap().loss)
            .collect::<Vec<f32>>()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}
