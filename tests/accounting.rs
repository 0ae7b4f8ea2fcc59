//! Cost accounting: FLOP counts against the hand count, the energy and CO₂e formulas, the
//! milestones and early stopping, and settings that must be refused.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use burn::tensor::Device;
use futures_lite::future::block_on;

use kindling::cost;
use kindling::cost::energy::{EnergySettings, PowerPreset, WORLD_GRID_G_PER_KWH};
use kindling::cost::ledger::{EarlyStopConfig, EarlyStopping, Ledger, StopReason};
use kindling::model::ModelConfig;
use kindling::training::{self, Event, Start, Trainer, TrainingConfig};

#[test]
fn training_flops_are_forward_and_both_gradients_except_the_images() {
    // Forward 2,528,000 multiply-adds; backward: conv1's weights only (194,688), and twice
    // the forward of conv2, dense1 and dense2 (2 × 2,333,312).
    let seed = ModelConfig::new();
    let backward: usize = cost::layer_costs(&seed)
        .iter()
        .map(|l| l.backward_macs)
        .sum();
    assert_eq!(backward, 194_688 + 2 * (2_230_272 + 102_400 + 640));
    assert_eq!(
        cost::train_flops(&seed),
        2.0 * (2_528_000.0 + backward as f64)
    );
    let student = ModelConfig::student();
    assert_eq!(cost::params(&student), 80 + 1_168 + 6_416 + 170);
    // conv1 26²·8·9, conv2 11²·16·72, dense 400·16 and 16·10.
    assert_eq!(
        cost::forward_flops(&student),
        2.0 * (48_672.0 + 139_392.0 + 6_400.0 + 160.0)
    );
}

#[test]
fn energy_is_power_times_time_and_co2_is_energy_times_intensity() {
    let settings = EnergySettings::preset(PowerPreset::DesktopCpu);
    let hour = settings.estimate(3600.0);
    assert_eq!(hour.joules, 65.0 * 3600.0);
    assert!((hour.watt_hours - 65.0).abs() < 1e-9);
    assert!((hour.co2_grams - 0.065 * WORLD_GRID_G_PER_KWH).abs() < 1e-9);
    let laptop = EnergySettings::preset(PowerPreset::LaptopCpu).estimate(120.0);
    assert!((laptop.watt_hours - 0.5).abs() < 1e-9, "15 W for 2 minutes");
    let words = settings.assumptions();
    assert!(words.contains("65 W") && words.contains("assumed") && words.contains("Ember"));
}

#[test]
fn impossible_power_and_intensity_are_refused() {
    let with = |watts: f64, grid: f64| EnergySettings {
        watts,
        grid_g_per_kwh: grid,
        ..EnergySettings::default()
    };
    for (watts, grid) in [
        (-5.0, 436.0),
        (0.0, 436.0),
        (f64::NAN, 436.0),
        (65.0, f64::NAN),
        (65.0, -1.0),
        (65.0, 1e6),
    ] {
        let error = with(watts, grid).validate().unwrap_err();
        assert!(
            error.contains("power") || error.contains("intensity"),
            "{error}"
        );
    }
    assert!(
        with(65.0, 0.0).validate().is_ok(),
        "a carbon-free grid is allowed"
    );
}

#[test]
fn early_stopping_stops_on_a_plateau_and_on_the_target() {
    let plateau = EarlyStopConfig::new().with_patience(Some(2));
    let mut stopping = EarlyStopping::new(plateau);
    // Rises, then gains less than 0.1 point twice in a row.
    let accuracies = [0.95, 0.97, 0.980, 0.9805, 0.9808];
    let decisions: Vec<_> = accuracies.iter().map(|&a| stopping.observe(a)).collect();
    assert_eq!(decisions[..4], [None, None, None, None]);
    assert_eq!(
        decisions[4],
        Some(StopReason::Plateau {
            best: 0.980,
            epochs: 2
        })
    );

    let mut target = EarlyStopping::new(EarlyStopConfig::new().with_target(Some(0.99)));
    assert_eq!(target.observe(0.985), None);
    assert!(matches!(
        target.observe(0.991),
        Some(StopReason::Target { .. })
    ));

    for bad in [
        EarlyStopConfig::new().with_target(Some(0.0)),
        EarlyStopConfig::new().with_target(Some(f32::NAN)),
        EarlyStopConfig::new().with_target(Some(1.5)),
        EarlyStopConfig::new().with_patience(Some(0)),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn the_ledger_records_milestones_and_what_stopping_saved() {
    let model = ModelConfig::new();
    let stop = EarlyStopConfig::new().with_target(Some(0.99));
    let mut ledger = Ledger::new(&model, 10, &stop);
    let energy = EnergySettings::default();
    let per_epoch = 60_000.0 * cost::train_flops(&model) + 10_000.0 * cost::forward_flops(&model);
    let mut stopped = None;
    for (epoch, accuracy) in [0.975f32, 0.985, 0.992].into_iter().enumerate() {
        ledger.trained(60_000);
        stopped = ledger.evaluated(
            (epoch + 1) as f64,
            Some(accuracy),
            10_000,
            20.0 * (epoch + 1) as f64,
        );
    }
    assert!(stopped.is_some() && ledger.stopped());
    let report = ledger.report(60.0, &energy);
    assert!((report.flops - 3.0 * per_epoch).abs() < 1.0);
    let epochs: Vec<_> = report
        .milestones
        .iter()
        .map(|m| (m.accuracy, m.epoch))
        .collect();
    assert_eq!(epochs, [(0.98, 2.0), (0.99, 3.0)]);
    let to_98 = &report.milestones[0];
    assert!((to_98.flops - 2.0 * per_epoch).abs() < 1.0);
    assert_eq!(to_98.estimate, energy.estimate(40.0));
    let saving = report.early_stop.expect("stopped before epoch 10");
    assert_eq!(saving.epochs_saved, 7.0);
    assert!((saving.seconds - 140.0).abs() < 1e-9);
    assert!((saving.flops - 7.0 * per_epoch).abs() < 1.0);
}

#[test]
fn a_run_stops_once_it_reaches_its_target() {
    let config = TrainingConfig::new()
        .with_epochs(20)
        .with_batch_size(20)
        .with_early_stop(EarlyStopConfig::new().with_target(Some(0.9)));
    let device = Device::flex();
    let data = common::toy_dataset(200);
    let mut trainer = Trainer::open(config, data.clone(), &device, Start::Fresh).unwrap();
    let mut stops = Vec::new();
    let evaluation = block_on(training::run(
        &mut trainer,
        &data,
        || 1.0,
        |_, event| {
            if let Event::Evaluated {
                stop: Some(reason), ..
            } = event
            {
                stops.push(reason);
            }
        },
    ))
    .unwrap();
    assert!(evaluation.accuracy.unwrap() >= 0.9);
    assert!(
        trainer.epochs_done() < 20,
        "the toy set is learnt in a few epochs"
    );
    assert_eq!(stops.len(), 1);
    let report = trainer.cost(1.0, &EnergySettings::default());
    assert_eq!(
        report.early_stop.unwrap().epochs_saved,
        (20 - trainer.epochs_done()) as f64
    );
}

#[test]
fn four_evaluations_an_epoch_fall_at_its_quarters_and_its_end() {
    let config = TrainingConfig::new()
        .with_epochs(2)
        .with_batch_size(20)
        .with_evaluations_per_epoch(4);
    let data = common::toy_dataset(200); // 10 steps an epoch: evaluations after 3, 6, 9, 10
    let mut trainer = Trainer::open(config, data.clone(), &Device::flex(), Start::Fresh).unwrap();
    let mut seen = Vec::new();
    block_on(training::run(
        &mut trainer,
        &data,
        || 1.0,
        |_, event| {
            if let Event::Evaluated { epochs, .. } = event {
                seen.push(epochs);
            }
        },
    ))
    .unwrap();
    assert_eq!(seen, [0.3, 0.6, 0.9, 1.0, 1.3, 1.6, 1.9, 2.0]);
    let bad = TrainingConfig::new().with_evaluations_per_epoch(0);
    assert!(bad.validate().is_err());
}
