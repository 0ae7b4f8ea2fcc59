//! Continuing a run is exact: k steps, a checkpoint, a new trainer opened from its bytes, then
//! the rest give the weights (and the ledger) the whole run gives in one go, bit for bit. And a
//! damaged, foreign or mismatched checkpoint is refused with a sentence.
//!
//! Every test holds `LOCK`: burn's CPU random generator (dropout's) is process-wide, so runs in
//! parallel threads would draw from each other's stream.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::sync::{Mutex, MutexGuard};

use burn::tensor::Device;
use futures_lite::future::block_on;
use kindling::cost::energy::EnergySettings;
use kindling::data::augment::AugmentConfig;
use kindling::data::Dataset;
use kindling::store::checkpoint::{self, CheckpointError};
use kindling::store::optimizer_state;
use kindling::store::weights;
use kindling::training::optimizer::{OptimizerConfig, OptimizerKind, ScheduleConfig, ScheduleKind};
use kindling::training::{evaluate, Start, TrainError, Trainer, TrainingConfig};

static LOCK: Mutex<()> = Mutex::new(());

fn alone() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes up to `steps` steps (all that are left with `usize::MAX`), evaluating on `test` when
/// a step says so, at a fixed time so the ledgers can be compared.
fn drive(trainer: &mut Trainer, test: &Dataset, steps: usize) {
    for _ in 0..steps {
        if trainer.finished() {
            break;
        }
        let report = block_on(trainer.step()).unwrap();
        if report.evaluate {
            let normalization = trainer.config().normalization;
            let evaluation = block_on(evaluate(
                &trainer.model(),
                test,
                normalization,
                &Device::flex(),
            ))
            .unwrap();
            trainer.evaluated(&evaluation, 1.0);
        }
    }
}

fn open(config: &TrainingConfig, train: &Dataset, start: Start) -> Result<Trainer, TrainError> {
    Trainer::open(config.clone(), train.clone(), &Device::flex(), start)
}

fn resumed(config: &TrainingConfig, train: &Dataset, bytes: &[u8]) -> Result<Trainer, TrainError> {
    let checkpoint = checkpoint::from_bytes(bytes).map_err(TrainError::Checkpoint)?;
    open(config, train, Start::Checkpoint(checkpoint))
}

/// The whole run in one go.
fn straight(config: &TrainingConfig, train: &Dataset, test: &Dataset) -> Trainer {
    let mut trainer = open(config, train, Start::Fresh).unwrap();
    drive(&mut trainer, test, usize::MAX);
    trainer
}

/// `k` steps, then the checkpoint's bytes.
fn first_part(config: &TrainingConfig, train: &Dataset, test: &Dataset, k: usize) -> Vec<u8> {
    let mut trainer = open(config, train, Start::Fresh).unwrap();
    drive(&mut trainer, test, k);
    assert_eq!(trainer.steps_done(), k);
    block_on(trainer.checkpoint(2.0)).unwrap()
}

/// The rest of the run, from a checkpoint's bytes.
fn rest(config: &TrainingConfig, train: &Dataset, test: &Dataset, bytes: &[u8]) -> Trainer {
    let mut trainer = resumed(config, train, bytes).unwrap();
    drive(&mut trainer, test, usize::MAX);
    trainer
}

/// Same weights bit for bit, same position, same ledger.
fn assert_same_run(a: &Trainer, b: &Trainer, what: &str) {
    assert_eq!(
        common::parameter_bits(&a.model()),
        common::parameter_bits(&b.model()),
        "{what}: the continued run's weights differ from the straight run's"
    );
    assert_eq!(
        (a.steps_done(), a.samples_seen(), a.epochs_done()),
        (b.steps_done(), b.samples_seen(), b.epochs_done()),
        "{what}"
    );
    let energy = EnergySettings::default();
    let (continued, whole) = (a.cost(1.0, &energy), b.cost(3.0, &energy));
    assert_eq!(continued.flops, whole.flops, "{what}: FLOPs");
    // The continued run was checkpointed 2 s into its first part: it adds them to its clock.
    assert_eq!(
        continued.seconds, 3.0,
        "{what}: the time before the checkpoint"
    );
    let reached = |c: &kindling::cost::ledger::CostReport| {
        (c.milestones.iter())
            .map(|m| (m.accuracy, m.epoch, m.flops))
            .collect::<Vec<_>>()
    };
    assert_eq!(reached(&continued), reached(&whole), "{what}: milestones");
}

#[test]
fn adam_with_dropout_continues_exactly_mid_epoch_and_a_fresh_optimizer_would_not() {
    let _alone = alone();
    // The seed recipe (Adam, dropout 0.5): 8 steps an epoch, the checkpoint in the second.
    let config = TrainingConfig::new().with_epochs(3).with_batch_size(64);
    let (train, test) = (common::toy_dataset(512), common::toy_dataset(100));
    let whole = straight(&config, &train, &test);
    assert!(
        !whole
            .cost(0.0, &EnergySettings::default())
            .milestones
            .is_empty(),
        "the toy set should reach a milestone, so the ledgers' milestones are compared"
    );
    let bytes = first_part(&config, &train, &test, 11);
    let continued = rest(&config, &train, &test, &bytes);
    assert_same_run(&continued, &whole, "Adam");
    // Parameter ids are numbered, not drawn: the two write the same weights file.
    let file = |t: &Trainer| {
        let header = weights::WeightsHeader::new(
            config.model.clone(),
            config.normalization,
            "mnist",
            3,
            None,
        );
        weights::to_bytes(&t.model(), &header).unwrap()
    };
    assert!(file(&continued) == file(&whole), "the weights files differ");

    // The same checkpoint with Adam's moments dropped: the run must come out otherwise, or
    // the comparison above could not fail.
    let checkpoint = checkpoint::from_bytes(&bytes).unwrap();
    let fresh = config.optimizer.init();
    let empty = block_on(optimizer_state::to_bytes(&fresh, &Device::flex())).unwrap();
    let forgetful = checkpoint::to_bytes(&checkpoint.header, checkpoint.weights, &empty).unwrap();
    let other = rest(&config, &train, &test, &forgetful);
    assert_ne!(
        common::parameter_bits(&other.model()),
        common::parameter_bits(&whole.model()),
        "a fresh optimizer gave the same weights: the test cannot tell"
    );
}

#[test]
fn batch_norm_augmentation_and_a_cosine_schedule_continue_exactly() {
    let _alone = alone();
    let augment = AugmentConfig::new()
        .with_shift(2)
        .with_rotation(10.0)
        .with_scale(0.1)
        .with_mixup(Some(0.4));
    let schedule = ScheduleConfig::new()
        .with_kind(ScheduleKind::Cosine)
        .with_warmup_epochs(1.0);
    let mut config = TrainingConfig::new()
        .with_epochs(3)
        .with_batch_size(64)
        .with_learning_rate(3e-3)
        .with_augment(augment)
        .with_schedule(schedule);
    config.model.batch_norm = true;
    let (train, test) = (common::toy_dataset(512), common::toy_dataset(100));
    let whole = straight(&config, &train, &test);
    // At the end of the first epoch, after its evaluation.
    let bytes = first_part(&config, &train, &test, 8);
    assert_same_run(&rest(&config, &train, &test, &bytes), &whole, "BatchNorm");
}

#[test]
fn every_optimizer_continues_exactly() {
    let _alone = alone();
    let (train, test) = (common::toy_dataset(40), common::toy_dataset(20));
    for kind in [
        OptimizerKind::Gd,
        OptimizerKind::Sgd,
        OptimizerKind::Momentum,
        OptimizerKind::Nesterov,
        OptimizerKind::Rmsprop,
        OptimizerKind::Adam,
        OptimizerKind::Adamw,
    ] {
        let optimizer = OptimizerConfig::new()
            .with_kind(kind)
            .with_weight_decay(kind.default_weight_decay());
        let config = TrainingConfig::new()
            .with_epochs(2)
            .with_batch_size(10)
            .with_learning_rate(kind.default_learning_rate())
            .with_optimizer(optimizer);
        let whole = straight(&config, &train, &test);
        // Gradient descent only between epochs; the others in the middle of one.
        let k = if kind == OptimizerKind::Gd { 4 } else { 5 };
        let bytes = first_part(&config, &train, &test, k);
        let what = format!("{kind:?}");
        assert_same_run(&rest(&config, &train, &test, &bytes), &whole, &what);
    }
}

#[test]
fn the_weights_record_every_epoch_their_model_was_trained_for() {
    let _alone = alone();
    let config = TrainingConfig::new().with_epochs(1).with_batch_size(20);
    let (train, test) = (common::toy_dataset(40), common::toy_dataset(20));
    let mut first = open(&config, &train, Start::Fresh).unwrap();
    drive(&mut first, &test, usize::MAX);
    let header = weights::WeightsHeader::new(
        config.model.clone(),
        config.normalization,
        "mnist",
        first.model_epochs(),
        None,
    );
    let file = weights::to_bytes(&first.model(), &header).unwrap();

    // A new run of 2 epochs on those weights, checkpointed after its first, then continued.
    let config = config.with_epochs(2);
    let mut second = open(&config, &train, Start::Weights(&file)).unwrap();
    drive(&mut second, &test, 2);
    assert_eq!((second.epochs_done(), second.model_epochs()), (1, 2));
    let bytes = block_on(second.checkpoint(0.0)).unwrap();
    let inside = checkpoint::from_bytes(&bytes).unwrap();
    assert_eq!(weights::read_header(inside.weights).unwrap().0.epochs, 2);
    let mut third = resumed(&config, &train, &bytes).unwrap();
    drive(&mut third, &test, usize::MAX);
    assert_eq!((third.epochs_done(), third.model_epochs()), (2, 3));
}

#[test]
fn a_run_may_be_extended_but_not_changed() {
    let _alone = alone();
    let config = TrainingConfig::new().with_epochs(2).with_batch_size(20);
    let (train, test) = (common::toy_dataset(40), common::toy_dataset(20));
    let bytes = first_part(&config, &train, &test, 4); // both epochs: the run is complete

    assert!(resumed(&config, &train, &bytes).unwrap().finished());
    let mut longer = resumed(&config.clone().with_epochs(3), &train, &bytes).unwrap();
    assert!(!longer.finished());
    drive(&mut longer, &test, usize::MAX);
    assert_eq!(longer.epochs_done(), 3);

    let refusal = |config: &TrainingConfig, train: &Dataset| match resumed(config, train, &bytes) {
        Ok(_) => panic!("a changed run was continued"),
        Err(e) => e.to_string(),
    };
    let message = refusal(&config.clone().with_learning_rate(0.003), &train);
    assert!(
        message.contains("learning_rate 0.001 there, 0.003 here"),
        "{message}"
    );
    let message = refusal(&config.clone().with_epochs(1), &train);
    assert!(message.contains("already trained 2 epochs"), "{message}");
    let message = refusal(&config, &common::toy_dataset(50));
    assert!(
        message.contains("trained on 40 images, not on the 50"),
        "{message}"
    );
    let other_labels = common::toy_dataset(41).split_at(1).1;
    let message = refusal(&config, &other_labels);
    assert!(message.contains("not its images"), "{message}");
}

#[test]
fn damaged_and_foreign_checkpoints_are_refused_with_a_sentence() {
    let _alone = alone();
    let config = TrainingConfig::new().with_epochs(1).with_batch_size(20);
    let (train, test) = (common::toy_dataset(40), common::toy_dataset(20));
    let bytes = first_part(&config, &train, &test, 1);
    let refused = |bytes: &[u8]| match checkpoint::from_bytes(bytes) {
        Ok(_) => panic!("a bad checkpoint was read"),
        Err(e) => e,
    };
    for cut in [0, 3, 20, 40, bytes.len() / 2, bytes.len() - 1] {
        let e = refused(&bytes[..cut]);
        let expected = matches!(e, CheckpointError::Truncated { .. })
            || (cut == 0 && e == CheckpointError::NotCheckpoint);
        assert!(expected, "cut at {cut}: {e}");
    }
    for at in [30, 200, bytes.len() / 2, bytes.len() - 100, bytes.len() - 3] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        assert_eq!(
            refused(&flipped),
            CheckpointError::Corrupt,
            "flipped at {at}"
        );
    }
    let mut foreign = bytes.clone();
    foreign[..4].copy_from_slice(b"KNDL");
    assert_eq!(refused(&foreign), CheckpointError::NotCheckpoint);
    let weights = checkpoint::from_bytes(&bytes).unwrap().weights.to_vec();
    assert_eq!(refused(&weights), CheckpointError::NotCheckpoint);
    let mut newer = bytes.clone();
    newer[4] = 9;
    assert_eq!(refused(&newer), CheckpointError::UnsupportedVersion(9));
    let mut huge = bytes.clone();
    huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        refused(&huge),
        CheckpointError::BadLength | CheckpointError::Truncated { .. }
    ));
    for e in [
        refused(&bytes[..10]),
        refused(&foreign),
        CheckpointError::Corrupt,
        refused(&newer),
    ] {
        let sentence = e.to_string();
        assert!(sentence.starts_with(|c: char| c.is_lowercase()) && sentence.len() > 30);
        assert!(sentence.contains("checkpoint"), "{sentence}");
    }

    // Another optimizer's state in an Adam run: burn would start Adam afresh; it is refused.
    let sgd = TrainingConfig::new()
        .with_epochs(1)
        .with_batch_size(20)
        .with_optimizer(OptimizerConfig::new().with_kind(OptimizerKind::Momentum));
    let other = checkpoint::from_bytes(&first_part(&sgd, &train, &test, 1))
        .unwrap()
        .optimizer
        .to_vec();
    let adam = checkpoint::from_bytes(&bytes).unwrap();
    let mixed = checkpoint::to_bytes(&adam.header, adam.weights, &other).unwrap();
    let message = resumed(&config, &train, &mixed).err().unwrap().to_string();
    assert!(message.contains("optimizer state"), "{message}");
}

#[test]
fn gradient_descent_is_checkpointed_only_between_epochs() {
    let _alone = alone();
    let config = TrainingConfig::new()
        .with_epochs(1)
        .with_batch_size(20)
        .with_optimizer(OptimizerConfig::new().with_kind(OptimizerKind::Gd));
    let (train, test) = (common::toy_dataset(40), common::toy_dataset(20));
    let mut trainer = open(&config, &train, Start::Fresh).unwrap();
    drive(&mut trainer, &test, 1);
    let e = block_on(trainer.checkpoint(0.0)).err().unwrap();
    assert_eq!(e, TrainError::Checkpoint(CheckpointError::MidEpoch));
    assert!(e.to_string().contains("only between epochs"), "{e}");
    drive(&mut trainer, &test, 1);
    assert!(block_on(trainer.checkpoint(0.0)).is_ok());
}

#[test]
fn the_rnn_and_the_denoising_autoencoder_continue_exactly() {
    use kindling::nets::{AutoencoderConfig, Cell, NetworkConfig, RnnConfig};
    let _alone = alone();
    let (train, test) = (common::toy_dataset(96), common::toy_dataset(32));
    let networks = [
        NetworkConfig::Rnn(RnnConfig::new().with_cell(Cell::Gru).with_units(8)),
        // The noise is drawn from (seed, step): a continued run draws what the straight one did.
        NetworkConfig::Autoencoder(AutoencoderConfig::new().with_bottleneck(4).with_noise(0.3)),
    ];
    for network in networks {
        let config = TrainingConfig::new()
            .with_network(Some(network.clone()))
            .with_epochs(2)
            .with_batch_size(32);
        let whole = straight(&config, &train, &test);
        let bytes = first_part(&config, &train, &test, 4);
        let continued = rest(&config, &train, &test, &bytes);
        assert_same_run(&continued, &whole, &format!("{network:?}"));
    }
}
