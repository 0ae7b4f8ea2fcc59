//! Run records: what a finished run leaves for comparison, and the recipe's settings and
//! presets that make it.

use kindling::augment::AugmentConfig;
use kindling::optimizer::{OptimizerKind, ScheduleKind};
use kindling::recipe::{Preset, RecipeSettings};
use kindling::runs::{self, RunFacts, RunRecord};
use kindling::training::TrainingConfig;

fn facts(test_accuracy: f32, images: usize, seconds: f64, finished_at: u64) -> RunFacts {
    RunFacts {
        finished_at,
        device: "CPU".into(),
        images,
        epochs: 2,
        test_accuracy,
        test_loss: 0.05,
        seconds,
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
        .with_l2(1e-4);
    assert_eq!(
        runs::summary(&mixup),
        "adam lr 0.001 · L2 0.0001 · flip · mixup 0.2"
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
