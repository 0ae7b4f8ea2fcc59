//! The optimizers, schedules and penalties do what they say: each optimizer's steps on a tiny
//! problem match the textbook update computed here by hand, the schedules and penalties match
//! their formulas, and settings outside their ranges are refused.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use futures_lite::future::block_on;
use kindling::model::ModelConfig;
use kindling::training::optimizer::{OptimizerConfig, OptimizerKind, ScheduleConfig, ScheduleKind};
use kindling::training::recipe::RecipeSettings;
use kindling::training::{Start, Trainer, TrainingConfig};

const X: [f64; 2] = [1.0, 2.0];
const START: [f64; 2] = [0.5, -0.5];
const LR: f64 = 0.1;

/// The weights of `w·x` after each of `steps` updates on the loss `½(w·x)²`, by burn.
fn burn_steps(config: &OptimizerConfig, steps: usize) -> Vec<[f64; 2]> {
    let device = Device::flex().autodiff();
    let mut linear: Linear = LinearConfig::new(2, 1).with_bias(false).init(&device);
    let start = TensorData::new(START.map(|w| w as f32).to_vec(), [2, 1]);
    linear.weight = Param::from_tensor(Tensor::from_data(start, &device));
    let x = Tensor::<2>::from_data(
        TensorData::new(X.map(|x| x as f32).to_vec(), [1, 2]),
        &device,
    );
    let mut optimizer = config.init();
    (0..steps)
        .map(|_| {
            let y = linear.forward(x.clone()); // [1, 1]
            let loss = y.square().sum().mul_scalar(0.5);
            let grads = GradientsParams::from_grads(loss.backward(), &linear);
            linear = optimizer.step(LR, linear.clone(), grads);
            let w: Vec<f32> = linear.weight.val().into_data().try_to_vec().unwrap();
            [w[0] as f64, w[1] as f64]
        })
        .collect()
}

/// The same steps by the textbook formula `update(t, w, g, state)`, which changes `w`.
fn hand_steps<S: Default>(
    steps: usize,
    mut update: impl FnMut(i32, &mut [f64; 2], [f64; 2], &mut [S; 2]),
) -> Vec<[f64; 2]> {
    let (mut w, mut state) = (START, [S::default(), S::default()]);
    (1..=steps as i32)
        .map(|t| {
            let y = w[0] * X[0] + w[1] * X[1];
            update(t, &mut w, X.map(|x| x * y), &mut state);
            w
        })
        .collect()
}

fn assert_same(burn: Vec<[f64; 2]>, hand: Vec<[f64; 2]>, what: &str) {
    for (step, (b, h)) in burn.iter().zip(&hand).enumerate() {
        for i in 0..2 {
            let close = (b[i] - h[i]).abs() <= 1e-4 * (1.0 + h[i].abs());
            assert!(
                close,
                "{what}, step {}: burn {b:?}, by hand {h:?}",
                step + 1
            );
        }
    }
}

fn optimizer(kind: OptimizerKind) -> OptimizerConfig {
    OptimizerConfig::new().with_kind(kind)
}

#[test]
fn sgd_steps_against_the_gradient() {
    let hand = hand_steps::<()>(3, |_, w, g, _| (0..2).for_each(|i| w[i] -= LR * g[i]));
    assert_same(burn_steps(&optimizer(OptimizerKind::Sgd), 3), hand, "sgd");
}

#[test]
fn momentum_and_nesterov_match_a_hand_computed_step() {
    for (kind, nesterov) in [
        (OptimizerKind::Momentum, false),
        (OptimizerKind::Nesterov, true),
    ] {
        let config = optimizer(kind).with_momentum(0.9);
        let hand = hand_steps::<f64>(3, |_, w, g, velocity| {
            for i in 0..2 {
                velocity[i] = 0.9 * velocity[i] + g[i];
                let step = if nesterov {
                    g[i] + 0.9 * velocity[i]
                } else {
                    velocity[i]
                };
                w[i] -= LR * step;
            }
        });
        assert_same(burn_steps(&config, 3), hand, &format!("{kind:?}"));
    }
}

#[test]
fn rmsprop_matches_a_hand_computed_step() {
    let config = optimizer(OptimizerKind::Rmsprop).with_rho(0.9);
    let hand = hand_steps::<f64>(3, |_, w, g, mean_square| {
        for i in 0..2 {
            mean_square[i] = 0.9 * mean_square[i] + 0.1 * g[i] * g[i];
            w[i] -= LR * g[i] / (mean_square[i].sqrt() + 1e-7);
        }
    });
    assert_same(burn_steps(&config, 3), hand, "rmsprop");
}

/// Adam's moments, then AdamW's decay of the weights themselves.
fn adam_by_hand(decay: f64) -> Vec<[f64; 2]> {
    let (b1, b2) = (0.9f64, 0.999f64);
    hand_steps::<(f64, f64)>(3, |t, w, g, moments| {
        for i in 0..2 {
            let (m, v) = &mut moments[i];
            *m = b1 * *m + (1.0 - b1) * g[i];
            *v = b2 * *v + (1.0 - b2) * g[i] * g[i];
            let (m_hat, v_hat) = (*m / (1.0 - b1.powi(t)), *v / (1.0 - b2.powi(t)));
            w[i] -= LR * decay * w[i];
            w[i] -= LR * m_hat / (v_hat.sqrt() + 1e-7);
        }
    })
}

#[test]
fn adam_matches_a_hand_computed_step() {
    assert_same(
        burn_steps(&optimizer(OptimizerKind::Adam), 3),
        adam_by_hand(0.0),
        "adam",
    );
}

#[test]
fn adamw_decays_the_weights_apart_from_the_gradient() {
    let config = optimizer(OptimizerKind::Adamw).with_weight_decay(0.1);
    assert_same(burn_steps(&config, 3), adam_by_hand(0.1), "adamw");
}

#[test]
fn schedules_follow_their_formulas() {
    let (per_epoch, total) = (10, 100);
    let at = |schedule: &ScheduleConfig, step| schedule.learning_rate(1.0, step, per_epoch, total);
    let constant = ScheduleConfig::new();
    assert_eq!([at(&constant, 0), at(&constant, 99)], [1.0, 1.0]);

    let step = ScheduleConfig::new()
        .with_kind(ScheduleKind::Step)
        .with_every_epochs(3)
        .with_factor(0.5);
    // Epochs 1–3 at 1, 4–6 at 0.5, 7–9 at 0.25, 10 at 0.125.
    assert_eq!(
        [at(&step, 29), at(&step, 30), at(&step, 60), at(&step, 99)],
        [1.0, 0.5, 0.25, 0.125]
    );

    let cosine = ScheduleConfig::new()
        .with_kind(ScheduleKind::Cosine)
        .with_warmup_epochs(1.0);
    // Warm-up from 1/10 to 1 over the first epoch, then from 1 down towards 0.
    assert!((at(&cosine, 0) - 0.1).abs() < 1e-12);
    assert!((at(&cosine, 9) - 1.0).abs() < 1e-12);
    assert!((at(&cosine, 10) - 1.0).abs() < 1e-12);
    assert!(
        (at(&cosine, 55) - 0.5).abs() < 1e-12,
        "half-way down at the middle of the decay"
    );
    assert!(at(&cosine, 99) < 0.001);
}

#[test]
fn penalties_match_their_formulas() {
    let device = Device::flex();
    let model = ModelConfig::new().init(&device);
    assert!(
        model.weight_penalty(0.0, 0.0).is_none(),
        "no penalty, no term"
    );
    let weights: Vec<f32> = model.kernels().into_data().try_to_vec().unwrap();
    assert_eq!(
        weights.len(),
        121_930 - (32 + 64 + 64 + 10),
        "every weight but the biases"
    );
    let l1: f64 = weights.iter().map(|w| w.abs() as f64).sum();
    let l2: f64 = weights.iter().map(|w| (w * w) as f64).sum();
    let penalty = |a, b| model.weight_penalty(a, b).unwrap().into_scalar::<f32>() as f64;
    assert!((penalty(0.01, 0.0) - 0.01 * l1).abs() < 1e-4 * l1 * 0.01);
    assert!((penalty(0.0, 0.02) - 0.02 * l2).abs() < 1e-4 * l2 * 0.02);
    assert!((penalty(0.01, 0.02) - 0.01 * l1 - 0.02 * l2).abs() < 1e-4 * (l1 + l2) * 0.02);
}

#[test]
fn settings_outside_their_ranges_are_refused_with_a_message() {
    let refused = |config: TrainingConfig, words: &str| {
        let message = config.validate().unwrap_err().to_string();
        assert!(
            message.contains(words),
            "{message:?} should mention {words:?}"
        );
    };
    let with = |f: fn(OptimizerConfig) -> OptimizerConfig| {
        TrainingConfig::new().with_optimizer(f(OptimizerConfig::new()))
    };
    refused(with(|o| o.with_momentum(1.5)), "momentum");
    refused(with(|o| o.with_momentum(-0.1)), "momentum");
    refused(with(|o| o.with_beta2(1.0)), "beta 2");
    refused(with(|o| o.with_epsilon(0.0)), "epsilon");
    refused(with(|o| o.with_weight_decay(f64::NAN)), "weight decay");
    refused(TrainingConfig::new().with_l2(-1.0), "L2");
    refused(TrainingConfig::new().with_l1(f64::INFINITY), "L1");
    let schedule = ScheduleConfig::new()
        .with_kind(ScheduleKind::Step)
        .with_factor(0.0);
    refused(
        TrainingConfig::new().with_schedule(schedule),
        "decay factor",
    );
    let model = ModelConfig::new().with_dropout(1.0);
    refused(TrainingConfig::new().with_model(model), "dropout");
}

#[test]
fn the_page_and_command_line_settings_fill_the_recipe() {
    let settings: RecipeSettings = serde_json::from_str(
        r#"{"optimizer": "nesterov", "momentum": 0.8, "schedule": "cosine", "warmup": 0.5,
            "l2": 0.0001, "dropout": 0.25}"#,
    )
    .unwrap();
    let config = settings.apply(TrainingConfig::new());
    assert_eq!(config.optimizer.kind, OptimizerKind::Nesterov);
    assert_eq!(config.optimizer.momentum, 0.8);
    assert_eq!(config.schedule.kind, ScheduleKind::Cosine);
    assert_eq!(config.schedule.warmup_epochs, 0.5);
    assert_eq!((config.l1, config.l2), (0.0, 0.0001));
    assert_eq!(config.model.dropout, 0.25);
    // Left out: the seed's recipe.
    let seed = RecipeSettings::default().apply(TrainingConfig::new());
    assert_eq!(seed.optimizer, OptimizerConfig::new());
    assert_eq!(seed.model, ModelConfig::new());
    // AdamW brings its own default decay unless one is given.
    let adamw: RecipeSettings = serde_json::from_str(r#"{"optimizer": "adamw"}"#).unwrap();
    assert_eq!(
        adamw.apply(TrainingConfig::new()).optimizer.weight_decay,
        0.004
    );
}

#[test]
fn gradient_descent_updates_once_per_epoch_and_steps_report_the_recipe() {
    let config = TrainingConfig::new()
        .with_batch_size(10)
        .with_learning_rate(0.1)
        .with_optimizer(optimizer(OptimizerKind::Gd))
        .with_schedule(
            ScheduleConfig::new()
                .with_kind(ScheduleKind::Step)
                .with_every_epochs(1),
        )
        .with_l2(0.001);
    let mut trainer = Trainer::open(
        config,
        common::toy_dataset(30),
        &Device::flex(),
        Start::Fresh,
    )
    .unwrap();
    let probe = Tensor::<4>::ones([1, 1, 28, 28], &Device::flex());
    let outputs = |trainer: &Trainer| trainer.model().forward(probe.clone()).into_data();
    let start = outputs(&trainer);
    for expected_rate in [0.1, 0.1, 0.1, 0.05] {
        let report = block_on(trainer.step()).unwrap();
        assert_eq!(
            report.learning_rate, expected_rate,
            "step decay after each epoch"
        );
        assert!(
            report.penalty > 0.0,
            "the L2 term is reported apart from the loss"
        );
        let moved = outputs(&trainer) != start;
        assert_eq!(moved, report.epoch_done || report.epoch > 1, "{report:?}");
    }
}
