//! The settings table is the one description of every number a run can be given: the command
//! line's flags come from it, the configurations' defaults are its defaults, and every refusal
//! is its sentence. (tests/e2e/settings.test.mjs gives the same cases to the page.)
#![cfg(not(target_arch = "wasm32"))]

use std::process::Command;

use kindling::training::recipe::RunSettings;
use kindling::training::settings::{self, Setting};
use kindling::training::TrainingConfig;

fn kindling(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kindling"))
        .args(args)
        .output()
        .expect("the kindling binary runs")
}

/// The shared table of good and bad values: (setting, value as typed, accepted).
fn cases() -> Vec<(String, String, bool)> {
    let text = include_str!("data/settings-cases.json");
    let cases: Vec<serde_json::Value> = serde_json::from_str(text).expect("the cases are JSON");
    (cases.iter())
        .map(|c| {
            let field = |name: &str| c[name].as_str().expect("a string").to_string();
            let accepted = c["accepted"].as_bool().expect("accepted is true or false");
            (field("setting"), field("value"), accepted)
        })
        .collect()
}

#[test]
fn every_setting_accepts_its_default_and_names_its_range() {
    for setting in settings::ALL {
        assert_eq!(setting.check(setting.default), Ok(()), "{}", setting.name);
        let rule = setting.rule();
        assert!(rule.starts_with(setting.label), "{rule}");
        assert!(rule.contains(" must be "), "{rule}");
    }
    let names: Vec<&str> = settings::ALL.iter().map(|s| s.name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "each setting once");
}

#[test]
fn the_configurations_defaults_are_the_tables() {
    let config = TrainingConfig::new();
    let pairs: [(Setting, f64); 10] = [
        (settings::EPOCHS, config.epochs as f64),
        (settings::BATCH_SIZE, config.batch_size as f64),
        (settings::LEARNING_RATE, config.learning_rate),
        (settings::SEED, config.seed as f64),
        (settings::MOMENTUM, config.optimizer.momentum),
        (settings::BETA2, config.optimizer.beta2),
        (settings::EPSILON, config.optimizer.epsilon),
        (settings::DECAY_EVERY, config.schedule.every_epochs as f64),
        (settings::DROPOUT, config.model.dropout),
        (settings::CONV2, config.model.conv2_channels as f64),
    ];
    for (setting, value) in pairs {
        assert_eq!(setting.default, value, "{}", setting.name);
    }
    // Settings left out of a run's JSON take the same defaults.
    let empty: RunSettings = serde_json::from_str("{}").unwrap();
    assert_eq!(empty.config(), config);
}

#[test]
fn the_command_line_offers_every_setting_with_its_meaning_and_range() {
    let help = String::from_utf8(kindling(&["train", "--help"]).stdout).unwrap();
    for setting in settings::ALL {
        assert!(
            help.contains(&format!("--{} ", setting.flag)),
            "--{}",
            setting.flag
        );
        assert!(
            help.contains(setting.help.split(' ').next().unwrap()),
            "{}",
            setting.help
        );
    }
}

#[test]
fn the_shared_cases_are_judged_by_the_table_and_the_command_line_alike() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (name, value, accepted) in cases {
        let setting = settings::find(&name).unwrap_or_else(|| panic!("no setting {name}"));
        let verdict = setting.parse(&value);
        assert_eq!(verdict.is_ok(), accepted, "{name} = {value:?}: {verdict:?}");
        let run = kindling(&["train", "--check", &format!("--{}={value}", setting.flag)]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            run.status.success(),
            accepted,
            "{name} = {value:?}: {stderr}"
        );
        if let Err(sentence) = verdict {
            assert!(stderr.contains(&sentence), "{stderr} lacks {sentence}");
        }
    }
}

#[test]
fn a_refusal_reads_as_a_sentence() {
    let refuse = |setting: Setting, value: f64| setting.check(value).unwrap_err();
    assert_eq!(
        refuse(settings::LEARNING_RATE, 20.0),
        "learning rate must be a number in (0, 10], got 20"
    );
    assert_eq!(
        refuse(settings::EPOCHS, 2.5),
        "epochs must be a whole number from 1 to 1000, got 2.5"
    );
    assert_eq!(
        settings::LIMIT.parse("").unwrap_err(),
        "training images must be a whole number from 1 to 60000, got nothing"
    );
    assert_eq!(
        refuse(settings::EPSILON, 0.0),
        "epsilon must be a number in (0, 1], got 0"
    );
}
