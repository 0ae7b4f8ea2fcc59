//! `kindling explain`: for each picture, one PNG sheet of what the network makes of it (the
//! input, the saliency and occlusion maps of its answer, every layer's output) and a JSON file
//! of the numbers behind it.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use futures_lite::future::block_on;
use image::{Rgb, RgbImage};
use serde::Serialize;

use kindling::data::{IMAGE_PIXELS, IMAGE_SIDE};
use kindling::inspect::{self, Activations, Explanation, ViewCost};
use kindling::model::inference;

use kindling::store::weights;

use crate::{load_model, CliResult};

#[derive(Serialize)]
struct Sheet<'a> {
    image: &'a Path,
    /// The answer, and the class the maps are for.
    class: usize,
    class_asked: Option<usize>,
    activations: Activations,
    activations_cost: ViewCost,
    explanation: Explanation,
}

pub fn explain(
    model_path: Option<&Path>,
    images: &[PathBuf],
    class: Option<usize>,
    out: &Path,
) -> CliResult {
    if let Some(class) = class.filter(|&c| c > 9) {
        return Err(format!("--class must be a digit from 0 to 9, got {class}"));
    }
    let device = Device::flex();
    let (model, header) = load_model(model_path, &device)?;
    // The views read a CNN's layers.
    let model = weights::into_cnn(model).map_err(|e| match model_path {
        Some(path) => format!("{}: {e}", path.display()),
        None => e.to_string(),
    })?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let norm = header.normalization;
    let mut failed = false;
    for path in images {
        let input = match inference::read_picture(path) {
            Ok(input) => input,
            Err(message) => {
                eprintln!("{}: {message}", path.display());
                failed = true;
                continue;
            }
        };
        let activations = block_on(inspect::activations(&model, &input, norm, &device))?;
        let answer = activations.answer();
        let explained = class.unwrap_or(answer);
        let explanation = block_on(inspect::explain(&model, &input, explained, norm, &device))?;
        let stem = path
            .file_stem()
            .map_or("image".into(), |s| s.to_string_lossy());
        let (png, json) = (
            out.join(format!("{stem}.png")),
            out.join(format!("{stem}.json")),
        );
        sheet(&input, &activations, &explanation)
            .save(&png)
            .map_err(|e| format!("{}: {e}", png.display()))?;
        let numbers = Sheet {
            image: path,
            class: answer,
            class_asked: class,
            activations,
            activations_cost: ViewCost {
                forward_passes: 1,
                backward_passes: 0,
            },
            explanation,
        };
        let text = serde_json::to_string_pretty(&numbers).expect("plain data");
        std::fs::write(&json, text).map_err(|e| format!("{}: {e}", json.display()))?;
        println!(
            "{}: {answer} (p = {:.3}); maps of {explained}, SmoothGrad against occlusion: \
             r = {:.2} → {}, {}",
            path.display(),
            numbers.activations.probabilities[answer],
            numbers.explanation.agreement,
            png.display(),
            json.display()
        );
    }
    match failed {
        true => Err("some pictures could not be read".into()),
        false => Ok(()),
    }
}

/// Pixels of each map cell on the sheet.
const SCALE: u32 = 4;
const GAP: u32 = 4;
const BACKGROUND: Rgb<u8> = Rgb([250, 250, 250]);

/// The sheet: input, SmoothGrad over the input, occlusion (top row); conv1's maps; conv2's maps;
/// the dense units; the ten probabilities, the answer in red.
fn sheet(input: &[u8; IMAGE_PIXELS], a: &Activations, e: &Explanation) -> RgbImage {
    let side = IMAGE_SIDE as u32 * SCALE;
    let grid = |count: usize, map_side: usize, per_row: usize, scale: u32| {
        let cell = map_side as u32 * scale + 2;
        (per_row as u32 * cell, count.div_ceil(per_row) as u32 * cell)
    };
    let g1 = grid(a.channels1, a.side1, 16, 2);
    let g2 = grid(a.channels2, a.side2, 16, 4);
    let width = (3 * side + 2 * GAP).max(g1.0).max(g2.0) + 2 * GAP;
    let height = side + g1.1 + g2.1 + 16 + 40 + 6 * GAP;
    let mut sheet = RgbImage::from_pixel(width, height, BACKGROUND);
    let gray: Vec<f32> = input.iter().map(|&p| p as f32 / 255.0).collect();
    let mut y = GAP;
    paint(&mut sheet, GAP, y, &gray, IMAGE_SIDE, SCALE, shade);
    let peak = |m: &[f32]| m.iter().fold(1e-12f32, |p, v| p.max(v.abs()));
    let (s, o) = (peak(&e.saliency), peak(&e.occlusion));
    let over = |i: usize, v: f32| mix(shade(gray[i] * 0.5), diverging(v));
    paint_indexed(
        &mut sheet,
        GAP + side + GAP,
        y,
        &e.saliency,
        IMAGE_SIDE,
        SCALE,
        |i, v| over(i, v / s),
    );
    paint_indexed(
        &mut sheet,
        GAP + 2 * (side + GAP),
        y,
        &e.occlusion,
        IMAGE_SIDE,
        SCALE,
        |i, v| over(i, v / o),
    );
    y += side + GAP;
    for (maps, channels, map_side, scale, rows) in [
        (&a.block1, a.channels1, a.side1, 2, g1.1),
        (&a.block2, a.channels2, a.side2, 4, g2.1),
    ] {
        let top = peak(maps);
        let cell = map_side as u32 * scale + 2;
        for c in 0..channels {
            let map = &maps[c * map_side * map_side..(c + 1) * map_side * map_side];
            let (x0, y0) = (GAP + (c % 16) as u32 * cell, y + (c / 16) as u32 * cell);
            paint(&mut sheet, x0, y0, map, map_side, scale, |v| shade(v / top));
        }
        y += rows + GAP;
    }
    let top = peak(&a.hidden);
    for (i, &v) in a.hidden.iter().enumerate() {
        fill(&mut sheet, GAP + i as u32 * 6, y, 5, 16, shade(v / top));
    }
    y += 16 + GAP;
    let answer = e.class;
    for (d, &p) in a.probabilities.iter().enumerate() {
        let bar = (p * 40.0).round() as u32;
        let colour = if d == answer {
            Rgb([200, 40, 40])
        } else {
            Rgb([90, 90, 90])
        };
        fill(
            &mut sheet,
            GAP + d as u32 * 14,
            y + 40 - bar,
            10,
            bar.max(1),
            colour,
        );
    }
    sheet
}

fn paint(
    img: &mut RgbImage,
    x: u32,
    y: u32,
    map: &[f32],
    side: usize,
    scale: u32,
    colour: impl Fn(f32) -> Rgb<u8>,
) {
    paint_indexed(img, x, y, map, side, scale, |_, v| colour(v));
}

fn paint_indexed(
    img: &mut RgbImage,
    x: u32,
    y: u32,
    map: &[f32],
    side: usize,
    scale: u32,
    colour: impl Fn(usize, f32) -> Rgb<u8>,
) {
    for (i, &v) in map.iter().enumerate() {
        let (r, c) = ((i / side) as u32, (i % side) as u32);
        fill(
            img,
            x + c * scale,
            y + r * scale,
            scale,
            scale,
            colour(i, v),
        );
    }
}

fn fill(img: &mut RgbImage, x: u32, y: u32, w: u32, h: u32, colour: Rgb<u8>) {
    for yy in y..(y + h).min(img.height()) {
        for xx in x..(x + w).min(img.width()) {
            img.put_pixel(xx, yy, colour);
        }
    }
}

/// 0 → black, 1 → white.
fn shade(v: f32) -> Rgb<u8> {
    let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
    Rgb([g, g, g])
}

/// −1 → blue, 0 → transparent (alpha in the fourth place is its strength), 1 → red.
fn diverging(v: f32) -> (Rgb<u8>, f32) {
    let v = v.clamp(-1.0, 1.0);
    match v >= 0.0 {
        true => (Rgb([220, 40, 30]), v),
        false => (Rgb([30, 90, 220]), -v),
    }
}

fn mix(base: Rgb<u8>, (over, alpha): (Rgb<u8>, f32)) -> Rgb<u8> {
    Rgb(std::array::from_fn(|k| {
        (base.0[k] as f32 * (1.0 - alpha) + over.0[k] as f32 * alpha) as u8
    }))
}
