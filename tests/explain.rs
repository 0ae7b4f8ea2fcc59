//! `kindling explain` and `kindling train --health` as a user meets them: files written with
//! the numbers they claim, bad input refused with a sentence.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::cli::{kindling, scratch, short_run, write_scan};
use kindling::data::Split;

#[test]
fn explain_writes_a_sheet_and_the_numbers_for_each_picture() {
    let test = common::mnist(Split::Test);
    let out = scratch("explained");
    let _ = std::fs::remove_dir_all(&out);
    let pictures: Vec<String> = (0..2)
        .map(|i| {
            let path = scratch(&format!("explain-{i}.png"));
            write_scan(test.image(i), &path);
            path.to_string_lossy().into_owned()
        })
        .collect();
    let mut args = vec!["explain", "--out", out.to_str().unwrap()];
    args.extend(pictures.iter().map(String::as_str));
    let run = kindling(&args);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for i in 0..2 {
        let sheet = image::open(out.join(format!("explain-{i}.png"))).expect("a PNG sheet");
        assert!(
            sheet.width() >= 3 * 112 && sheet.height() > 112,
            "{}×{}",
            sheet.width(),
            sheet.height()
        );
        let text = std::fs::read_to_string(out.join(format!("explain-{i}.json"))).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            json["class"],
            test.label(i) as u64,
            "the shipped model reads it right"
        );
        let activations = &json["activations"];
        assert_eq!(
            activations["block1"].as_array().unwrap().len(),
            32 * 13 * 13
        );
        assert_eq!(activations["block2"].as_array().unwrap().len(), 64 * 5 * 5);
        assert_eq!(activations["hidden"].as_array().unwrap().len(), 64);
        let explanation = &json["explanation"];
        assert_eq!(explanation["saliency"].as_array().unwrap().len(), 784);
        assert_eq!(explanation["occlusion"].as_array().unwrap().len(), 784);
        assert_eq!(explanation["saliency_cost"]["backward_passes"], 16);
        assert_eq!(explanation["occlusion_cost"]["forward_passes"], 65);
        // The gradient map is not noise: where it is strong, greying the picture out costs the
        // answer probability.
        let r = explanation["agreement"].as_f64().unwrap();
        assert!(r > 0.1, "SmoothGrad against occlusion: r = {r}");
        assert!(
            stdout.contains(&format!("explain-{i}.png: {}", test.label(i))),
            "{stdout}"
        );
    }
    let bad = kindling(&["explain", "--class", "12", pictures[0].as_str()]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("--class must be a digit from 0 to 9, got 12"));
}

#[test]
fn train_writes_its_health_and_warns_when_it_blows_up() {
    let csv = scratch("health.csv");
    let path = csv.to_str().unwrap();
    let checkpoint = scratch("health.ckpt");
    let train = |extra: &[&str]| {
        let mut args = vec![
            "--health",
            path,
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ];
        args.extend(extra);
        short_run("health", 640, &args)
    };
    let run = train(&["--clip-norm", "0.5"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // 5 steps: measured at steps 1 (then every 10th), one row per layer.
    let layers: Vec<&str> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(layers, ["conv1", "conv2", "dense1", "dense2"], "{text}");
    assert!(text.starts_with("step,epoch,layer,gradient_norm,weight_norm,update_ratio,"));
    for row in &rows {
        let global: f64 = row[6].parse().unwrap();
        assert_eq!(
            row[7] == "true",
            global > 0.5,
            "clipped when above --clip-norm: {row:?}"
        );
    }
    let refused = train(&["--clip-norm", "0"]);
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("gradient clipping norm must be a number in (0, 1000]"));
    let blown = train(&["--lr", "5"]);
    let stdout = String::from_utf8_lossy(&blown.stdout);
    assert!(stdout.contains("Large updates: a step changes"), "{stdout}");
}

#[test]
fn a_pipe_given_as_the_checkpoint_is_written_to_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    // `--checkpoint /dev/null` once replaced the device with a file (the checkpoint is renamed
    // into place); a named pipe stands in for it here.
    let pipe = scratch("checkpoint.pipe");
    let _ = std::fs::remove_file(&pipe);
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::read(pipe).unwrap().len())
    };
    let run = short_run("pipe", 256, &["--checkpoint", pipe.to_str().unwrap()]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Before joining: had the pipe been replaced, its reader would wait forever.
    let kind = std::fs::symlink_metadata(&pipe).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe is still a pipe");
    let read = reader.join().unwrap();
    assert!(read > 0, "the checkpoint went through the pipe");
}
