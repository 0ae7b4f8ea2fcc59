//! Augmentation on the fly: each training batch is transformed as it is drawn, so every epoch
//! sees different images. All of it happens on the CPU before the batch is uploaded, costs a
//! fraction of a millisecond per image (`kindling bench`), and is deterministic for
//! `(seed, epoch, batch)`, on native and wasm alike.
//!
//! Shift, flip, rotation, scale and shear compose into one affine map per image, sampled once
//! with bilinear interpolation; mixup then blends pairs of images and their one-hot targets.

use burn::config::Config;

use crate::data::random::SplitMix64;
use crate::data::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use crate::training::settings;

/// The largest shift: a quarter of the image. More moves most digits out of the frame.
pub const MAX_SHIFT: usize = 7;
/// Shear beyond this flattens a digit into a line.
pub const MAX_SHEAR_DEGREES: f64 = 45.0;

/// Which augmentations run, and how strongly. The default does nothing.
#[derive(Config, Debug, PartialEq)]
pub struct AugmentConfig {
    /// Random shift by up to this many pixels each way: the image is padded and a 28×28
    /// window cropped at a random offset (0 turns it off).
    #[config(default = "settings::SHIFT.default_count()")]
    pub shift: usize,
    /// Mirror half the images left to right. Off by default: a flipped 2, 3, 4, 5, 7 or 9 is
    /// not that digit any more.
    #[config(default = false)]
    pub flip: bool,
    /// Rotation by up to this many degrees either way.
    #[config(default = "settings::ROTATION.default")]
    pub rotation: f64,
    /// Zoom by a factor in `[1 − scale, 1 + scale]`.
    #[config(default = "settings::SCALE.default")]
    pub scale: f64,
    /// Horizontal shear by up to this many degrees either way.
    #[config(default = "settings::SHEAR.default")]
    pub shear: f64,
    /// Mixup's α: each batch is blended with a shuffled copy of itself by a weight drawn from
    /// Beta(α, α), targets too. `None` turns it off.
    pub mixup: Option<f64>,
}

impl AugmentConfig {
    /// Refuses settings that would destroy the images, with a sentence saying which.
    pub fn validate(&self) -> Result<(), String> {
        settings::check_all(&[
            (settings::SHIFT, self.shift as f64),
            (settings::ROTATION, self.rotation),
            (settings::SCALE, self.scale),
            (settings::SHEAR, self.shear),
        ])?;
        match self.mixup {
            Some(alpha) => settings::MIXUP.check(alpha),
            None => Ok(()),
        }
    }

    /// True when some image transform (not mixup) is on.
    fn transforms(&self) -> bool {
        self.shift > 0 || self.flip || self.rotation > 0.0 || self.scale > 0.0 || self.shear > 0.0
    }

    /// True when the batches are changed at all.
    pub fn is_active(&self) -> bool {
        self.transforms() || self.mixup.is_some()
    }

    /// Augments one batch in place. `pixels` holds `labels.len()` normalised 28×28 images and
    /// `background` is the value of a blank pixel, which fills what moves into the frame.
    /// Returns the soft targets (`[batch, 10]`, each row summing to 1) when mixup is on, else
    /// `None`: the labels stand.
    pub fn apply(
        &self,
        pixels: &mut [f32],
        labels: &[i64],
        background: f32,
        rng: &mut SplitMix64,
    ) -> Option<Vec<f32>> {
        debug_assert_eq!(pixels.len(), labels.len() * IMAGE_PIXELS);
        if self.transforms() {
            let mut source = [0.0f32; IMAGE_PIXELS];
            for image in pixels.chunks_exact_mut(IMAGE_PIXELS) {
                source.copy_from_slice(image);
                let map = self.sample_map(rng);
                map.resample(&source, image, background);
            }
        }
        let alpha = self.mixup?;
        Some(mixup(pixels, labels, alpha, rng))
    }

    /// One image's random map, from output pixel to source pixel.
    fn sample_map(&self, rng: &mut SplitMix64) -> InverseMap {
        let offset = |rng: &mut SplitMix64| match self.shift {
            0 => 0.0,
            s => rng.below(2 * s as u64 + 1) as f64 - s as f64,
        };
        let (dx, dy) = (offset(rng), offset(rng));
        let flip = self.flip && rng.unit() < 0.5;
        let angle = rng.symmetric(self.rotation).to_radians();
        let zoom = 1.0 + rng.symmetric(self.scale);
        let shear = rng.symmetric(self.shear).to_radians().tan();
        // Forward map, about the centre: out = R(angle) · Shear(shear) · zoom · F · in + (dx, dy),
        // with F the optional mirror. Its inverse is F · (1/zoom) · Shear⁻¹ · R⁻¹.
        let (sin, cos) = angle.sin_cos();
        // R⁻¹ = [[cos, sin], [−sin, cos]]; Shear⁻¹ = [[1, −shear], [0, 1]].
        let mut m = [
            [(cos + shear * sin) / zoom, (sin - shear * cos) / zoom],
            [-sin / zoom, cos / zoom],
        ];
        if flip {
            m[0] = [-m[0][0], -m[0][1]];
        }
        InverseMap { m, dx, dy }
    }
}

/// Where each output pixel reads from: `source = m · (out − centre − d) + centre`.
struct InverseMap {
    m: [[f64; 2]; 2],
    dx: f64,
    dy: f64,
}

impl InverseMap {
    /// Bilinear resampling of `source` into `out`; outside the source reads `background`.
    /// Integer shifts and flips land exactly on pixels, so they are copies.
    fn resample(&self, source: &[f32], out: &mut [f32], background: f32) {
        const CENTRE: f64 = (IMAGE_SIDE as f64 - 1.0) / 2.0;
        let side = IMAGE_SIDE as isize;
        let read = |x: isize, y: isize| {
            if (0..side).contains(&x) && (0..side).contains(&y) {
                source[(y * side + x) as usize]
            } else {
                background
            }
        };
        let [[a, b], [c, d]] = self.m;
        for (row, out_row) in out.chunks_exact_mut(IMAGE_SIDE).enumerate() {
            let v = row as f64 - CENTRE - self.dy;
            for (col, value) in out_row.iter_mut().enumerate() {
                let u = col as f64 - CENTRE - self.dx;
                let x = a * u + b * v + CENTRE;
                let y = c * u + d * v + CENTRE;
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let top = read(x0, y0) * (1.0 - fx) + read(x0 + 1, y0) * fx;
                let bottom = read(x0, y0 + 1) * (1.0 - fx) + read(x0 + 1, y0 + 1) * fx;
                *value = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
}

/// Blends the batch with a shuffled copy of itself: `x ← λ·x + (1 − λ)·x_partner`, and the
/// same for the one-hot targets, with one `λ ~ Beta(α, α)` per batch as in Zhang et al. 2018.
fn mixup(pixels: &mut [f32], labels: &[i64], alpha: f64, rng: &mut SplitMix64) -> Vec<f32> {
    let lambda = rng.beta(alpha, alpha) as f32;
    let mut partner: Vec<usize> = (0..labels.len()).collect();
    rng.shuffle(&mut partner);
    let original = pixels.to_vec();
    let mut targets = vec![0.0f32; labels.len() * NUM_CLASSES];
    for (i, &j) in partner.iter().enumerate() {
        let (mine, theirs) = (i * IMAGE_PIXELS, j * IMAGE_PIXELS);
        for k in 0..IMAGE_PIXELS {
            pixels[mine + k] = lambda * original[mine + k] + (1.0 - lambda) * original[theirs + k];
        }
        let row = &mut targets[i * NUM_CLASSES..(i + 1) * NUM_CLASSES];
        row[labels[i] as usize] += lambda;
        row[labels[j] as usize] += 1.0 - lambda;
    }
    targets
}
