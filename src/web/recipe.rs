//! The page's recipe helpers: presets for the form, a preview of the augmentation the form
//! describes, and the card of a finished run's record.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{js_error, json, Datasets};
use crate::cost::runs::RunRecord;
use crate::data::random::SplitMix64;
use crate::data::{Normalization, IMAGE_PIXELS, NUM_CLASSES};
use crate::training::recipe::{Preset, RunSettings};

/// A preset's settings ("seed" or "best") as JSON named like the form's fields; the ones it
/// leaves out keep the form's defaults.
#[wasm_bindgen(js_name = presetSettings)]
pub fn preset_settings(name: &str) -> Result<String, JsError> {
    let preset: Preset = serde_json::from_value(name.into())
        .map_err(|_| JsError::new(&format!("no preset called {name:?}")))?;
    Ok(json(&preset.settings()))
}

#[derive(Serialize)]
struct PreviewJson {
    /// The augmented images, 28×28 bytes each, concatenated.
    pixels: Vec<u8>,
    /// What each image is trained as: its class, or with mixup the two classes blended,
    /// the larger share first ("3+8").
    captions: Vec<String>,
    /// With mixup, the larger share of every blend in this batch (one weight per batch).
    blend: Option<f32>,
}

/// Training images the augmentation preview shows.
const PREVIEW_IMAGES: usize = 16;

#[wasm_bindgen]
impl Datasets {
    /// The first training images as the form's `settings` (JSON) would augment them, drawn
    /// with `seed`: JSON `{pixels, captions, blend}`. Refuses invalid settings with the reason.
    pub fn preview(&self, settings: &str, seed: u32) -> Result<String, JsError> {
        let settings: RunSettings = serde_json::from_str(settings).map_err(js_error)?;
        let augment = settings.config().augment;
        augment.validate().map_err(js_error)?;
        let set = self.train.clone().limit(PREVIEW_IMAGES);
        let indices: Vec<usize> = (0..set.len()).collect();
        let (mut pixels, mut classes) = (Vec::new(), Vec::new());
        set.fill_batch(
            &indices,
            Normalization::UnitRange,
            &mut pixels,
            &mut classes,
        );
        let targets = augment.apply(&mut pixels, &classes, 0.0, &mut SplitMix64(seed.into()));
        let (captions, blend) = match targets {
            None => (classes.iter().map(|c| c.to_string()).collect(), None),
            Some(targets) => {
                let rows = targets.chunks_exact(NUM_CLASSES);
                let blend = rows
                    .clone()
                    .map(|row| row.iter().copied().fold(0.0, f32::max));
                // A blend of two images of the same class is all that class; the others show λ.
                let blend = blend.filter(|&share| share < 0.9999).fold(0.5, f32::max);
                (rows.map(blend_caption).collect(), Some(blend))
            }
        };
        let pixels = pixels
            .iter()
            .map(|p| (p.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect::<Vec<u8>>();
        debug_assert_eq!(pixels.len(), set.len() * IMAGE_PIXELS);
        Ok(json(&PreviewJson {
            pixels,
            captions,
            blend,
        }))
    }
}

/// "3+8": the classes a mixup target blends, the larger share first.
fn blend_caption(target: &[f32]) -> String {
    let mut shares: Vec<(usize, f32)> = (target.iter().copied().enumerate())
        .filter(|&(_, t)| t > 0.0)
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    let classes: Vec<String> = shares.iter().map(|(class, _)| class.to_string()).collect();
    classes.join("+")
}

/// The card of a run record (JSON from `Training.record`): the run in a page a person reads.
#[wasm_bindgen(js_name = runCard)]
pub fn run_card(record: &str) -> Result<String, JsError> {
    let record: RunRecord = serde_json::from_str(record).map_err(js_error)?;
    Ok(crate::cost::card::text(&record))
}

/// The power presets and the default grid for the page's cost settings, as JSON
/// `{power: [{name, watts, source}], grid: {g_per_kwh, source}}`.
#[wasm_bindgen(js_name = energyPresets)]
pub fn energy_presets() -> String {
    use crate::cost::energy::{PowerPreset, WORLD_GRID_G_PER_KWH, WORLD_GRID_SOURCE};
    let power: Vec<_> = (PowerPreset::ALL.iter())
        .map(|p| serde_json::json!({"name": p, "watts": p.watts(), "source": p.source()}))
        .collect();
    let grid = serde_json::json!({"g_per_kwh": WORLD_GRID_G_PER_KWH, "source": WORLD_GRID_SOURCE});
    serde_json::json!({"power": power, "grid": grid}).to_string()
}
