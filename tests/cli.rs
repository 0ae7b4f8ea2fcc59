//! The `kindling` command as a user meets it: clear messages and a non-zero exit for bad input,
//! right answers for real digits.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::cli::{kindling, scratch, write_scan};
use kindling::data::Split;

/// Fails with a message on stderr that contains `needle`.
fn assert_fails_with(args: &[&str], needle: &str) {
    let out = kindling(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        stderr.contains(needle),
        "{args:?}: stderr lacks {needle:?}:\n{stderr}"
    );
}

#[test]
fn bad_training_settings_are_refused_with_a_reason() {
    assert_fails_with(&["train", "--lr", "0"], "learning rate");
    assert_fails_with(&["train", "--lr", "NaN"], "learning rate");
    assert_fails_with(&["train", "--lr=-0.1"], "learning rate");
    assert_fails_with(&["train", "--batch-size", "0"], "batch size");
    assert_fails_with(&["train", "--epochs", "0"], "epochs");
    assert_fails_with(&["train", "--limit", "0"], "training images must be");
    assert_fails_with(&["train", "--batch-size", "many"], "invalid value");
    assert_fails_with(&["frobnicate"], "unrecognized subcommand");
    // The recipe's options.
    assert_fails_with(
        &["train", "--optimizer", "momentum", "--momentum", "1.5"],
        "momentum",
    );
    assert_fails_with(&["train", "--optimizer", "lbfgs"], "invalid value");
    assert_fails_with(&["train", "--l2=-0.01"], "L2 penalty");
    assert_fails_with(
        &["train", "--schedule", "step", "--decay-factor", "0"],
        "decay factor",
    );
    assert_fails_with(&["train", "--dropout", "1"], "dropout");
    // Augmentation.
    assert_fails_with(&["train", "--rotation", "200"], "rotation");
    assert_fails_with(&["train", "--mixup", "0"], "mixup α");
    assert_fails_with(&["train", "--shift", "9"], "shift");
    assert_fails_with(&["train", "--scale", "1.5"], "scale");
    assert_fails_with(&["train", "--preset", "fastest"], "invalid value");
}

#[test]
fn a_short_run_shows_its_views_records_itself_and_refuses_the_wrong_variant() {
    let (weights, runs, views) = (scratch("bn.kndl"), scratch("runs.jsonl"), scratch("v.json"));
    let _ = std::fs::remove_file(&runs);
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--limit",
            "256",
            "--test-limit",
            "200",
            "--epochs",
            "1",
        ];
        args.extend(extra);
        kindling(&args)
    };
    let out = train(&[
        "--batch-norm",
        "--shift",
        "1",
        "--mixup",
        "0.2",
        "--out",
        &path(&weights),
        "--runs",
        &path(&runs),
        "--export",
        &path(&views),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("recipe: adam lr 0.001 · BatchNorm · shift 1 · mixup 0.2"),
        "{stdout}"
    );
    assert!(stdout.contains("true \\ predicted"), "{stdout}");
    assert!(std::fs::read_to_string(&views)
        .unwrap()
        .contains("per_class_accuracy"));
    // Continuing from those weights without BatchNorm is refused, naming both variants.
    assert_fails_with(
        &["train", "--limit", "256", "--from", &path(&weights)],
        "BatchNorm",
    );
    let out = train(&[
        "--from",
        &path(&weights),
        "--batch-norm",
        "--out",
        &path(&weights),
        "--runs",
        &path(&runs),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kindling(&["runs", "--file", &path(&runs)]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.lines().count(), 3, "a header and two runs:\n{table}");
    assert!(
        table.contains("mixup 0.2") && table.contains("flex"),
        "{table}"
    );
}

#[test]
fn missing_data_points_to_the_fetch_command() {
    assert_fails_with(
        &["train", "--data", "/nonexistent/mnist"],
        "./build.sh data",
    );
    assert_fails_with(&["eval", "--data", "/nonexistent/mnist"], "./build.sh data");
}

#[test]
fn missing_and_non_image_files_are_named_in_the_error() {
    assert_fails_with(
        &["predict", "/nonexistent/digit.png"],
        "/nonexistent/digit.png: cannot read",
    );
    let text = scratch("notes.png");
    std::fs::write(&text, "these are not pixels").unwrap();
    assert_fails_with(&["predict", text.to_str().unwrap()], "not a PNG or JPEG");
    let blank = scratch("blank.png");
    image::GrayImage::from_pixel(40, 40, image::Luma([255]))
        .save(&blank)
        .unwrap();
    assert_fails_with(&["predict", blank.to_str().unwrap()], "blank");
}

#[test]
fn a_damaged_weights_file_is_refused() {
    let bad = scratch("bad.kndl");
    std::fs::write(&bad, b"KNDL\x01\x00\x00\x00garbage").unwrap();
    assert_fails_with(&["eval", "--model", bad.to_str().unwrap()], "bad.kndl");
    assert_fails_with(&["eval", "--model", "/nonexistent.kndl"], "cannot read");
}

#[test]
fn a_weights_header_bigger_than_its_record_is_refused_within_a_second() {
    use kindling::data::Normalization;
    use kindling::model::ModelConfig;
    use kindling::store::weights::WeightsHeader;
    // Issue 15's file (conv 4096/4096, dense 4096), and a model the layer limits allow: both
    // over a record of 258 bytes with a right checksum.
    for (size, needle) in [
        (4096, "crafted-4096.kndl: the "),
        (
            1024,
            "crafted-1024.kndl: the header describes a model of 35,674,122 parameters (CNN conv \
             1024/1024, dense 1024) but the record holds only 258 bytes",
        ),
    ] {
        let model = ModelConfig::new()
            .with_conv1_channels(size)
            .with_conv2_channels(size)
            .with_hidden(size);
        let header = WeightsHeader::new(model, Normalization::UnitRange, "mnist", 1, None);
        let crafted = scratch(&format!("crafted-{size}.kndl"));
        std::fs::write(&crafted, common::weights_file(&header, &[7u8; 258])).unwrap();
        let started = std::time::Instant::now();
        let out = kindling(&["eval", "--model", crafted.to_str().unwrap()]);
        let elapsed = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(needle), "{stderr}");
        assert!(elapsed.as_secs_f64() < 1.0, "refused after {elapsed:?}");
    }
}

#[test]
fn eval_shows_and_exports_the_confusion_matrix_of_the_shipped_weights() {
    let csv = scratch("confusion.csv");
    let out = kindling(&["eval", "--export", csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("true \\ predicted"), "{stdout}");
    assert!(stdout.contains("most confident mistakes"), "{stdout}");
    let csv = std::fs::read_to_string(csv).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let images: f64 = rows.iter().map(|row| row[1..11].iter().sum::<f64>()).sum();
    assert_eq!(images, 10_000.0, "every test image in one cell");
    let json = scratch("evaluation.json");
    assert!(kindling(&["eval", "--export", json.to_str().unwrap()])
        .status
        .success());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert!(report["accuracy"].as_f64().unwrap() > 0.99);
    assert_eq!(
        report["most_confident_mistakes"].as_array().unwrap().len(),
        10
    );
    assert_fails_with(&["eval", "--export", "/tmp/x.txt"], ".json or .csv");
}

#[test]
fn info_shows_the_seed_model_and_its_batch_norm_variant() {
    let out = kindling(&["info"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in ["121930", "64×5×5", "1600", "conv2"] {
        assert!(stdout.contains(needle), "info lacks {needle}:\n{stdout}");
    }
    let stdout = String::from_utf8_lossy(&kindling(&["info", "--batch-norm"]).stdout).to_string();
    for needle in ["122122", "norm2", "batchnorm"] {
        assert!(stdout.contains(needle), "info lacks {needle}:\n{stdout}");
    }
}

#[test]
fn predict_reads_real_digits_right_with_the_shipped_weights() {
    let test = common::mnist(Split::Test);
    let mut args = vec!["predict".to_string()];
    let mut expected = Vec::new();
    for i in 0..8 {
        let path = scratch(&format!("digit-{i}.png"));
        write_scan(test.image(i), &path);
        args.push(path.to_string_lossy().into_owned());
        expected.push(test.label(i));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = kindling(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<u8> = stdout
        .lines()
        .map(|line| {
            line.split(": ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(answers, expected, "{stdout}");
}

#[test]
fn cost_settings_early_stopping_distillation_and_int8_from_the_command_line() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/weights/mnist-cnn.kndl");
    assert_fails_with(&["train", "--watts=-5"], "power (W) must be");
    assert_fails_with(&["train", "--grid", "NaN"], "carbon intensity");
    assert_fails_with(&["train", "--stop-at", "0"], "accuracy to stop at");
    assert_fails_with(&["train", "--patience", "0"], "patience");
    assert_fails_with(
        &["train", "--teacher", shipped, "--temperature", "0.5"],
        "temperature",
    );
    assert_fails_with(
        &["train", "--limit", "10", "--teacher", "missing.kndl"],
        "missing.kndl",
    );

    let [student, int8, runs, card] =
        ["s.kndl", "i8.kndl", "cost-runs.jsonl", "card.json"].map(scratch);
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let out = kindling(&[
        "train",
        "--limit",
        "512",
        "--test-limit",
        "500",
        "--epochs",
        "4",
        "--student",
        "--teacher",
        shipped,
        "--stop-at",
        "5",
        "--power",
        "laptop-cpu",
        "--out",
        &path(&student),
        "--runs",
        &path(&runs),
        "--card",
        &path(&card),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "teacher: ",
        "recipe: adam lr 0.001 · dropout 0 · conv 8/16 dense 16 · distilled T 4 α 0.9 · stop at 5%",
        "stopping early: reached",
        "Kindling run card",
        "7834 parameters",
        "estimated: 15 W ×",
        "stopped    early, reached",
        "saved 3 epochs",
    ] {
        assert!(stdout.contains(needle), "{needle:?} not in\n{stdout}");
    }
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&card).unwrap()).unwrap();
    assert_eq!(record["epochs"], 1);
    assert!(record["cost"]["flops"].as_f64().unwrap() > 0.0);
    assert_eq!(record["cost"]["early_stop"]["epochs_saved"], 3.0);

    let out = kindling(&["convert", shipped, &path(&int8), "--precision", "int8"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("gzipped, Int8)"));
    let out = kindling(&["compare", shipped, &path(&int8), &path(&student)]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(
        table.contains("Int8") && table.contains("7834") && table.contains("99.20%"),
        "{table}"
    );
    let info = String::from_utf8_lossy(&kindling(&["info", "--student"]).stdout).to_string();
    assert!(
        info.contains("7834") && info.contains("backward MFLOP"),
        "{info}"
    );
}

/// `train` checkpoints every epoch; `--resume` continues the run exactly (one epoch, then the
/// second from the checkpoint, gives the two-epoch run's weights bit for bit), records every
/// epoch in its weights, and refuses changed settings, a finished run and a damaged file.
#[test]
fn a_checkpointed_run_resumes_exactly() {
    let path = |name: &str| scratch(name).to_str().unwrap().to_string();
    let train = |epochs: &str, name: &str, extra: &[&str]| {
        let mut args = vec!["train", "--limit", "256", "--test-limit", "100"];
        args.extend(["--batch-size", "64", "--epochs", epochs]);
        let (checkpoint, out) = (path(&format!("{name}.ckpt")), path(&format!("{name}.kndl")));
        let (runs, card) = (path("resume-runs.jsonl"), path("resume-card.json"));
        args.extend(["--checkpoint", &checkpoint, "--out", &out, "--runs", &runs]);
        args.extend(["--card", &card]);
        args.extend(extra);
        kindling(&args)
    };
    let succeeded = |out: Output| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
    };
    succeeded(train("2", "straight", &[]));
    succeeded(train("1", "first", &[]));
    succeeded(train("2", "continued", &["--resume", &path("first.ckpt")]));

    let model = |name: &str| {
        let bytes = std::fs::read(scratch(name)).unwrap();
        kindling::store::weights::from_bytes(&bytes, &burn::tensor::Device::flex()).unwrap()
    };
    let ((straight, _), (continued, header)) = (model("straight.kndl"), model("continued.kndl"));
    assert_eq!(header.epochs, 2, "the weights record both epochs");
    assert_eq!(
        common::parameter_bits(&straight),
        common::parameter_bits(&continued),
        "the resumed run's weights differ from the straight run's"
    );

    let first = path("first.ckpt");
    let refused = |extra: &[&str], needle: &str| {
        let out = train("2", "refused", extra);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} succeeded");
        assert!(
            stderr.contains(needle),
            "{extra:?}: {needle:?} not in {stderr}"
        );
    };
    refused(&["--resume", &first, "--lr", "0.01"], "other settings");
    refused(
        &["--resume", &first, "--from", &first],
        "cannot be used with",
    );
    let out = kindling(&["train", "--resume", &first, "--checkpoint", &path("x.ckpt")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is complete"));
    let mut damaged = std::fs::read(scratch("first.ckpt")).unwrap();
    damaged[100] ^= 1;
    std::fs::write(scratch("damaged.ckpt"), damaged).unwrap();
    refused(&["--resume", &path("damaged.ckpt")], "corrupt");
}
