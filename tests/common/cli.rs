//! The `kindling` binary as the command-line tests run it, and pictures of digits for it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn kindling(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kindling"))
        .args(args)
        .env("KINDLING_DATA", super::mnist_dir())
        .output()
        .expect("the kindling binary runs")
}

/// A path in this test process's own scratch folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kindling-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes a test digit the way a user might have it: upscaled, dark ink on white paper.
pub fn write_scan(pixels: &[u8], path: &Path) {
    let digit = image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([255 - pixels[(y * 28 + x) as usize]])
    });
    let page = image::imageops::resize(&digit, 112, 112, image::imageops::FilterType::Triangle);
    let mut paper = image::GrayImage::from_pixel(200, 160, image::Luma([255]));
    image::imageops::overlay(&mut paper, &page, 30, 20);
    paper.save(path).unwrap();
}

/// `kindling train` for one epoch on the first `images` training images (100 test images), its
/// outputs in this test's scratch folder named after `tag`, with `extra` flags.
pub fn short_run(tag: &str, images: usize, extra: &[&str]) -> std::process::Output {
    let file = |suffix: &str| {
        scratch(&format!("{tag}{suffix}"))
            .to_string_lossy()
            .into_owned()
    };
    let (weights, runs, card) = (file(".kndl"), file(".jsonl"), file("-card.json"));
    let images = images.to_string();
    let mut args = vec![
        "train",
        "--limit",
        &images,
        "--test-limit",
        "100",
        "--epochs",
        "1",
        "--out",
        &weights,
        "--runs",
        &runs,
        "--card",
        &card,
    ];
    args.extend(extra);
    kindling(&args)
}
