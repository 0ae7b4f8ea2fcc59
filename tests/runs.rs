//! Run records: what a finished run leaves for comparison, and the recipe's settings and
//! presets that make it.
#![cfg(not(target_arch = "wasm32"))]

use kindling::cost::card;
use kindling::cost::energy::EnergySettings;
use kindling::cost::ledger::{EarlyStopConfig, Ledger};
use kindling::cost::runs::{self, RunFacts, RunRecord};
use kindling::data::augment::AugmentConfig;
use kindling::model::ModelConfig;
use kindling::training::distill::DistillConfig;
use kindling::training::optimizer::{OptimizerKind, ScheduleKind};
use kindling::training::recipe::{Preset, RecipeSettings};
use kindling::training::TrainingConfig;

fn facts(test_accuracy: f32, images: usize, seconds: f64, finished_at: u64) -> RunFacts {
    RunFacts {
        finished_at,
        device: "CPU".into(),
        images,
        epochs: 2,
        test_accuracy: Some(test_accuracy),
        test_loss: 0.05,
        seconds,
        cost: None,
        data_bytes: None,
        model_bytes: None,
    }
}

#[test]
fn the_summary_names_what_differs_from_the_seed() {
    assert_eq!(runs::summary(&TrainingConfig::new()), "adam lr 0.001");
    let best = Preset::Best.settings().apply(TrainingConfig::new());
    let summary = runs::summary(&best);
    for needle in ["BatchNorm", "shift", "rotation", "cosine"] {
        assert!(summary.contains(needle), "{summary}");
    }
    let mixup = TrainingConfig::new()
        .with_augment(AugmentConfig::new().with_mixup(Some(0.2)).with_flip(true))
        .with_l2(1e-4)
        .with_clip_norm(Some(1.0));
    assert_eq!(
        runs::summary(&mixup),
        "adam lr 0.001 · L2 0.0001 · clip norm 1 · flip · mixup 0.2"
    );
    let other_seed = TrainingConfig::new().with_seed(7);
    assert_eq!(runs::summary(&other_seed), "adam lr 0.001 · seed 7");
}

#[test]
fn records_round_trip_as_json_lines_and_a_damaged_line_is_named() {
    let config = TrainingConfig::new().with_epochs(2);
    let a = RunRecord::new(&config, facts(0.9912, 60_000, 38.5, 1_700_000_000));
    let b = RunRecord::new(&config, facts(0.95, 1_000, 1.5, 1_700_000_100));
    let text = a.to_line() + &b.to_line();
    assert_eq!(text.lines().count(), 2);
    assert_eq!(runs::parse_lines(&text).unwrap(), vec![a.clone(), b]);
    let table = runs::table(std::slice::from_ref(&a));
    assert!(
        table.contains("99.12%") && table.contains("adam lr 0.001"),
        "{table}"
    );
    let damaged = a.to_line() + "{\"finished_at\": 3\n";
    let message = runs::parse_lines(&damaged).unwrap_err();
    assert!(message.starts_with("line 2"), "{message}");
}

#[test]
fn settings_override_a_preset_and_an_optimizer_brings_its_own_rate() {
    let preset = Preset::Best.settings().apply(TrainingConfig::new());
    assert!(preset.model.batch_norm);
    assert_eq!(preset.schedule.kind, ScheduleKind::Cosine);
    let mine = RecipeSettings {
        rotation: Some(0.0),
        learning_rate: Some(0.01),
        ..RecipeSettings::default()
    }
    .apply(preset.clone());
    assert_eq!(mine.augment.rotation, 0.0);
    assert_eq!(mine.learning_rate, 0.01);
    assert!(mine.model.batch_norm, "the rest of the preset stays");
    let sgd = RecipeSettings {
        optimizer: Some(OptimizerKind::Sgd),
        ..RecipeSettings::default()
    }
    .apply(preset);
    assert_eq!(sgd.learning_rate, 0.01, "Keras's SGD rate");
    assert_eq!(
        Preset::Seed.settings().apply(TrainingConfig::new()),
        TrainingConfig::new()
    );
}

#[test]
fn page_settings_arrive_as_json_with_every_field_optional() {
    let settings: RecipeSettings = serde_json::from_str(
        r#"{"batch_norm": true, "shift": 2, "mixup": 0.2, "flip": false, "learning_rate": 0.002}"#,
    )
    .unwrap();
    let config = settings.apply(TrainingConfig::new());
    assert!(config.model.batch_norm);
    assert_eq!(config.augment.shift, 2);
    assert_eq!(config.augment.mixup, Some(0.2));
    assert_eq!(config.learning_rate, 0.002);
    let bad = RecipeSettings {
        rotation: Some(200.0),
        ..RecipeSettings::default()
    }
    .apply(TrainingConfig::new());
    assert!(bad.validate().unwrap_err().to_string().contains("rotation"));
}

#[test]
fn a_run_card_states_cost_milestones_savings_and_assumptions() {
    let config = TrainingConfig::new()
        .with_model(ModelConfig::student())
        .with_distill(Some(DistillConfig::new()))
        .with_early_stop(EarlyStopConfig::new().with_target(Some(0.99)));
    assert_eq!(
        runs::summary(&config),
        "adam lr 0.001 · dropout 0 · conv 8/16 dense 16 · distilled T 4 α 0.9 · stop at 99%"
    );
    let mut ledger = Ledger::new(&config.model, 10, &config.early_stop);
    for (epoch, accuracy) in [0.981f32, 0.9905].into_iter().enumerate() {
        ledger.trained(60_000);
        ledger.evaluated(
            (epoch + 1) as f64,
            Some(accuracy),
            10_000,
            30.0 * (epoch + 1) as f64,
        );
    }
    let record = RunRecord::new(
        &config,
        RunFacts {
            cost: Some(ledger.report(60.0, &EnergySettings::default())),
            data_bytes: Some(11_594_722),
            model_bytes: Some(33_000),
            ..facts(0.9905, 60_000, 60.0, 1_700_000_000)
        },
    );
    let text = card::text(&record);
    for needle in [
        "7834 parameters",
        "11.6 MB of data files",
        "energy     1.08 Wh (3900 J), estimated: 65 W × 60.0 s",
        "to 98%     epoch 1",
        "to 99%     epoch 2",
        "stopped    early, reached 99.05% (target 99.00%): saved 8 epochs",
        "desktop CPU, assumed",
        "Ember",
        "33 KB file",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
    // The record keeps the cost; records written before it was counted still read.
    let read = runs::parse_lines(&record.to_line()).unwrap();
    let (cost, read_cost) = (
        record.facts.cost.as_ref().unwrap(),
        read[0].facts.cost.as_ref().unwrap(),
    );
    assert_eq!(
        (read[0].recipe.as_str(), read_cost.flops),
        (record.recipe.as_str(), cost.flops)
    );
    assert_eq!(read_cost.milestones.len(), 2);
    assert_eq!(read_cost.early_stop.as_ref().unwrap().epochs_saved, 8.0);
    let old = RunRecord::new(&TrainingConfig::new(), facts(0.99, 60_000, 1.0, 1)).to_line();
    let old: String = old.replace(
        ",\"cost\":null,\"data_bytes\":null,\"model_bytes\":null",
        "",
    );
    assert!(!old.contains("cost"));
    assert!(runs::table(&runs::parse_lines(&old).unwrap()).contains("—"));
}
