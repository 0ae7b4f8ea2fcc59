//! Turn any picture of a digit into a 28×28 MNIST-like input.
//!
//! The model was trained on MNIST, whose digits were prepared in a particular way (LeCun et al.):
//! the digit's bounding box is scaled to fit 20×20 preserving aspect ratio, anti-aliased, then
//! placed in a 28×28 frame so its centre of mass sits at the centre, white ink on black. A photo,
//! a scan or a canvas drawing only looks like that after the same preparation, so this module
//! repeats it on plain pixel buffers (no `image`, no burn) to run unchanged in wasm and natively.

use std::fmt;

/// Side of the MNIST frame.
pub const SIDE: usize = 28;
/// Side of the box the digit is scaled into; the rest of the frame is margin.
pub const BOX: usize = 20;
/// Stretched values below this share of full scale (15 %) are noise, not ink: paper grain,
/// JPEG ringing and faint shadows stay under it, pen strokes do not.
const NOISE_FLOOR: f32 = 0.15;
/// Ink must differ from the background by at least this much (of 255), or the picture is blank.
const MIN_CONTRAST: u8 = 24;

/// Why a picture cannot be turned into model input.
#[derive(Debug, Clone, PartialEq)]
pub enum PreprocessError {
    /// The picture has zero width or height.
    EmptyImage { width: usize, height: usize },
    /// The buffer length does not match width × height (× 4 for RGBA).
    BufferSize { expected: usize, actual: usize },
    /// The picture is blank or uniform: there is nothing to recognise.
    NoInk,
}

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyImage { width, height } => {
                write!(f, "the picture is empty ({width}×{height} pixels): choose an image with a digit")
            }
            Self::BufferSize { expected, actual } => write!(
                f,
                "the pixel buffer holds {actual} bytes but its size needs {expected}: the image data is damaged"
            ),
            Self::NoInk => write!(f, "the picture is blank: draw or choose an image with a digit"),
        }
    }
}

impl std::error::Error for PreprocessError {}

/// Checks dimensions and buffer length; `channels` is 1 for gray, 4 for RGBA.
fn check(len: usize, width: usize, height: usize, channels: usize) -> Result<(), PreprocessError> {
    if width == 0 || height == 0 {
        return Err(PreprocessError::EmptyImage { width, height });
    }
    let expected = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .unwrap_or(usize::MAX);
    if len != expected {
        return Err(PreprocessError::BufferSize {
            expected,
            actual: len,
        });
    }
    Ok(())
}

/// Grayscale luminance (0-255, Rec. 601 weights) from RGBA bytes.
///
/// Transparent pixels are composited over white: a canvas drawing is opaque strokes on a
/// transparent canvas, and treating it as paper makes it look like a scan. Polarity is sorted
/// out later by [`to_mnist`], so light strokes on a transparent canvas work too.
pub fn rgba_to_gray(rgba: &[u8], width: usize, height: usize) -> Result<Vec<u8>, PreprocessError> {
    check(rgba.len(), width, height, 4)?;
    Ok(rgba
        .chunks_exact(4)
        .map(|p| {
            let lum = (299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32 + 500) / 1000;
            let a = p[3] as u32;
            ((lum * a + 255 * (255 - a) + 127) / 255) as u8
        })
        .collect())
}

/// The full MNIST-like preparation of a grayscale picture of any size.
///
/// 1. polarity: if the border (the median of its pixels) is light, invert so ink is bright;
/// 2. stretch contrast so background → 0 and the brightest ink → 255, zeroing values under 15 %;
/// 3. crop to the ink's bounding box ([`PreprocessError::NoInk`] if there is none);
/// 4. area-average the box so its longer side is 20 px (thin strokes dim but never vanish);
/// 5. place it in 28×28 with its centre of mass at (14, 14), sub-pixel, kept off the frame's edge;
///    then rescale so the brightest pixel is 255 again.
///
/// Returns 784 bytes, row-major, ink bright (255) on black (0), exactly like MNIST.
pub fn to_mnist(gray: &[u8], width: usize, height: usize) -> Result<[u8; 784], PreprocessError> {
    check(gray.len(), width, height, 1)?;
    let lut = contrast_lut(gray, width, height).ok_or(PreprocessError::NoInk)?;
    let ink: Vec<u8> = gray.iter().map(|&v| lut[v as usize]).collect();
    let bounds = ink_bounds(&ink, width, height, 0).ok_or(PreprocessError::NoInk)?;
    let (patch, pw, ph) = resize_box(&ink, width, bounds);
    place_centred(&patch, pw, ph).ok_or(PreprocessError::NoInk)
}

/// A lookup table doing steps 1-2 (polarity, stretch, noise floor), or `None` for a blank picture.
fn contrast_lut(gray: &[u8], width: usize, height: usize) -> Option<[u8; 256]> {
    let mut border = [0usize; 256];
    let border_pixels = (0..width)
        .flat_map(|x| [x, (height - 1) * width + x])
        .chain((0..height).flat_map(|y| [y * width, y * width + width - 1]));
    for i in border_pixels {
        border[gray[i] as usize] += 1;
    }
    let background = median(&border);
    let invert = background > 127;
    let oriented = |v: u8| if invert { 255 - v } else { v };
    let bg = oriented(background);
    let brightest = gray.iter().map(|&v| oriented(v)).max()?;
    let range = brightest.checked_sub(bg).filter(|&r| r >= MIN_CONTRAST)?;
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        let level = (oriented(v as u8).saturating_sub(bg)) as f32 / range as f32;
        *out = if level < NOISE_FLOOR {
            0
        } else {
            (level.min(1.0) * 255.0).round() as u8
        };
    }
    Some(lut)
}

/// The median value of a histogram (the lower one for an even count).
fn median(hist: &[usize; 256]) -> u8 {
    let half = hist.iter().sum::<usize>().div_ceil(2);
    let mut seen = 0;
    for (v, &n) in hist.iter().enumerate() {
        seen += n;
        if seen >= half {
            return v as u8;
        }
    }
    255
}

/// Centre of mass (x, y) in pixel-index coordinates, or `None` if the image has no mass or the
/// buffer does not match the size.
pub fn center_of_mass(img: &[u8], width: usize, height: usize) -> Option<(f32, f32)> {
    if width.checked_mul(height) != Some(img.len()) {
        return None;
    }
    let (mut total, mut sx, mut sy) = (0f64, 0f64, 0f64);
    for (i, &v) in img.iter().enumerate() {
        let v = v as f64;
        total += v;
        sx += v * (i % width) as f64;
        sy += v * (i / width) as f64;
    }
    (total > 0.0).then(|| ((sx / total) as f32, (sy / total) as f32))
}

/// Bounding box (x0, y0, x1, y1), inclusive, of the pixels brighter than `threshold`.
pub fn ink_bounds(
    img: &[u8],
    width: usize,
    height: usize,
    threshold: u8,
) -> Option<(usize, usize, usize, usize)> {
    if width == 0 || width.checked_mul(height) != Some(img.len()) {
        return None;
    }
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for (y, row) in img.chunks_exact(width).enumerate() {
        let first = row.iter().position(|&v| v > threshold);
        let last = row.iter().rposition(|&v| v > threshold);
        if let (Some(l), Some(r)) = (first, last) {
            b = Some(match b {
                None => (l, y, r, y),
                Some((x0, y0, x1, _)) => (x0.min(l), y0, x1.max(r), y),
            });
        }
    }
    b
}

/// For each of `dst` output cells, the source cells it overlaps and their share of its area:
/// a box filter, so every source pixel contributes in proportion to how much of it is covered.
fn area_weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|i| {
            let (start, end) = (i as f64 * scale, (i + 1) as f64 * scale);
            let last = (end.ceil() as usize).min(src);
            (start.floor() as usize..last)
                .filter_map(|j| {
                    let overlap = end.min(j as f64 + 1.0) - start.max(j as f64);
                    (overlap > 0.0).then(|| (j, (overlap / scale) as f32))
                })
                .collect()
        })
        .collect()
}

/// Area-averages the box `(x0, y0, x1, y1)` of `img` so its longer side is [`BOX`] pixels.
/// Returns the patch (row-major, values 0-255) and its width and height.
fn resize_box(
    img: &[u8],
    width: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> (Vec<f32>, usize, usize) {
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let longer = cw.max(ch) as f64;
    let fit = |n: usize| ((n as f64 * BOX as f64 / longer).round() as usize).clamp(1, BOX);
    let (pw, ph) = (fit(cw), fit(ch));
    let (wx, wy) = (area_weights(cw, pw), area_weights(ch, ph));
    // Horizontal pass over the crop's rows, then vertical: the box filter is separable.
    let mut rows = vec![0f32; ch * pw];
    for y in 0..ch {
        let src = &img[(y0 + y) * width + x0..][..cw];
        for (x, w) in wx.iter().enumerate() {
            rows[y * pw + x] = w.iter().map(|&(j, a)| src[j] as f32 * a).sum();
        }
    }
    let mut patch = vec![0f32; ph * pw];
    for (y, w) in wy.iter().enumerate() {
        for x in 0..pw {
            patch[y * pw + x] = w.iter().map(|&(j, a)| rows[j * pw + x] * a).sum();
        }
    }
    (patch, pw, ph)
}

/// Pastes the patch into the 28×28 frame with its centre of mass at (14, 14). The shift is
/// sub-pixel (bilinear splatting moves the centroid by exactly the shift) and clamped so the patch
/// stays inside the frame with a one-pixel black margin, as lopsided digits (a 7) would otherwise
/// be pushed onto the edge. Finally rescales so the brightest pixel is 255, which restores thin
/// strokes that area-averaging dimmed. `None` if the patch has no mass.
fn place_centred(patch: &[f32], pw: usize, ph: usize) -> Option<[u8; 784]> {
    let (mut total, mut sx, mut sy) = (0f32, 0f32, 0f32);
    for (i, &v) in patch.iter().enumerate() {
        total += v;
        sx += v * (i % pw) as f32;
        sy += v * (i / pw) as f32;
    }
    if !total.is_finite() || total <= 0.0 {
        return None;
    }
    let centre = SIDE as f32 / 2.0;
    let ox = (centre - sx / total).clamp(1.0, (SIDE - 1 - pw) as f32);
    let oy = (centre - sy / total).clamp(1.0, (SIDE - 1 - ph) as f32);
    let (ix, iy) = (ox.floor() as usize, oy.floor() as usize);
    let (fx, fy) = (ox - ix as f32, oy - iy as f32);
    let mut frame = [0f32; 784];
    for (i, &v) in patch.iter().enumerate() {
        let (x, y) = (ix + i % pw, iy + i / pw);
        for (dx, dy, w) in [
            (0, 0, (1.0 - fx) * (1.0 - fy)),
            (1, 0, fx * (1.0 - fy)),
            (0, 1, (1.0 - fx) * fy),
            (1, 1, fx * fy),
        ] {
            if x + dx < SIDE && y + dy < SIDE {
                frame[(y + dy) * SIDE + x + dx] += v * w;
            }
        }
    }
    let peak = frame.iter().fold(0f32, |m, &v| m.max(v));
    if !peak.is_finite() || peak <= 0.0 {
        return None;
    }
    let mut out = [0u8; 784];
    for (o, &v) in out.iter_mut().zip(frame.iter()) {
        *o = (v * 255.0 / peak).round().clamp(0.0, 255.0) as u8;
    }
    Some(out)
}
