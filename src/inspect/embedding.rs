//! Where the test set lies in the network's last hidden layer: each image's 64 dense units,
//! projected onto the two directions they vary most along (PCA). After each epoch the ten
//! digits' clouds pull apart; a misread digit sits in another digit's cloud.

use std::ops::Range;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::Serialize;

use super::{read_floats, ViewCost};
use crate::data::{Dataset, Normalization};
use crate::model::Model;
use crate::training::batch_tensors;

/// The default number of test images on the map.
pub const EMBEDDING_IMAGES: usize = 2000;

/// Two orthogonal directions in the hidden layer, with its mean: a point on the map is
/// `((h − mean)·axes[0], (h − mean)·axes[1])`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Projection {
    pub mean: Vec<f32>,
    pub axes: [Vec<f32>; 2],
}

impl Projection {
    /// A hidden vector's place on the map.
    pub fn project(&self, hidden: &[f32]) -> [f32; 2] {
        self.axes.each_ref().map(|axis| {
            (hidden.iter().zip(&self.mean).zip(axis))
                .map(|((h, m), a)| (h - m) * a)
                .sum()
        })
    }
}

/// The map of a set of images.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Embedding {
    /// `[x0, y0, x1, y1, …]`, one point per image.
    pub points: Vec<f32>,
    pub labels: Vec<u8>,
    /// What the model read each image as.
    pub predicted: Vec<u8>,
    pub projection: Projection,
    /// The share of the hidden layer's variance along each axis.
    pub explained: [f32; 2],
    pub cost: ViewCost,
}

/// The dense layer's units and the answer for some images, gathered a part at a time (the page
/// computes a map in parts so that drawings are answered in between).
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// `width` values per image, in order.
    pub hidden: Vec<f32>,
    pub predicted: Vec<u8>,
    pub width: usize,
}

impl Features {
    /// Images gathered so far.
    pub fn len(&self) -> usize {
        self.predicted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.predicted.is_empty()
    }

    /// Adds images `range` of `set`, in batches that bound memory.
    pub async fn gather(
        &mut self,
        model: &Model,
        set: &Dataset,
        range: Range<usize>,
        normalization: Normalization,
        device: &Device,
    ) -> Result<(), String> {
        const BATCH: usize = 500;
        let device = device.clone().without_autodiff();
        let model = model.valid();
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        let indices: Vec<usize> = range.collect();
        for chunk in indices.chunks(BATCH) {
            set.fill_batch(chunk, normalization, &mut pixels, &mut labels);
            let (images, _) = batch_tensors(&pixels, &labels, &device);
            let trace = model.trace(images);
            self.width = trace.hidden.dims()[1];
            let classes = trace.logits.argmax(1).float().flatten::<1>(0, 1); // [chunk]
            let both = Tensor::cat(vec![trace.hidden.flatten::<1>(0, 1), classes], 0);
            let values = read_floats(both).await?;
            let (h, c) = values.split_at(chunk.len() * self.width);
            self.hidden.extend_from_slice(h);
            self.predicted.extend(c.iter().map(|&v| v as u8));
        }
        Ok(())
    }

    /// The map of the images gathered, the first of `set`. With `previous`, each axis keeps
    /// the sign of the last map's, so the picture does not flip from one epoch to the next.
    pub fn map(self, set: &Dataset, previous: Option<&Projection>) -> Embedding {
        let (projection, explained) = principal_axes(&self.hidden, self.width, previous);
        let points = (self.hidden.chunks(self.width.max(1)))
            .flat_map(|h| projection.project(h))
            .collect();
        let count = self.len();
        Embedding {
            points,
            labels: set.labels()[..count].to_vec(),
            predicted: self.predicted,
            projection,
            explained,
            cost: ViewCost {
                forward_passes: count,
                backward_passes: 0,
            },
        }
    }
}

/// Maps the first `count` images of `set` (see [`Features::map`]).
pub async fn embedding(
    model: &Model,
    set: &Dataset,
    count: usize,
    normalization: Normalization,
    device: &Device,
    previous: Option<&Projection>,
) -> Result<Embedding, String> {
    let mut features = Features::default();
    let count = count.min(set.len());
    (features.gather(model, set, 0..count, normalization, device)).await?;
    Ok(features.map(set, previous))
}

/// The top two principal axes of `rows` (each `width` long), by power iteration on their
/// covariance, and the share of the variance each explains.
pub fn principal_axes(
    rows: &[f32],
    width: usize,
    previous: Option<&Projection>,
) -> (Projection, [f32; 2]) {
    let n = (rows.len() / width.max(1)).max(1) as f64;
    let mut mean = vec![0.0f64; width];
    for row in rows.chunks(width.max(1)) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64 / n;
        }
    }
    let mut cov = vec![0.0f64; width * width];
    for row in rows.chunks(width.max(1)) {
        let centred: Vec<f64> = row.iter().zip(&mean).map(|(&v, m)| v as f64 - m).collect();
        for i in 0..width {
            for j in 0..width {
                cov[i * width + j] += centred[i] * centred[j] / n;
            }
        }
    }
    let total: f64 = (0..width).map(|i| cov[i * width + i]).sum();
    let mut axes: [Vec<f32>; 2] = [vec![0.0; width], vec![0.0; width]];
    let mut explained = [0.0f32; 2];
    for k in 0..2 {
        // Start from a fixed, non-degenerate vector, so the result is repeatable.
        let mut v: Vec<f64> = (0..width).map(|i| 1.0 + (i as f64 * 0.37).sin()).collect();
        let start = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= start);
        let mut eigenvalue = 0.0;
        for _ in 0..200 {
            let mut w: Vec<f64> = (0..width)
                .map(|i| (0..width).map(|j| cov[i * width + j] * v[j]).sum())
                .collect();
            let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if norm == 0.0 {
                break;
            }
            w.iter_mut().for_each(|x| *x /= norm);
            eigenvalue = norm;
            v = w;
        }
        if let Some(previous) = previous.filter(|p| p.axes[k].len() == width) {
            let dot: f64 = v
                .iter()
                .zip(&previous.axes[k])
                .map(|(a, &b)| a * b as f64)
                .sum();
            if dot < 0.0 {
                v.iter_mut().for_each(|x| *x = -*x);
            }
        }
        // Deflate: remove this axis so the next iteration finds the next one.
        for i in 0..width {
            for j in 0..width {
                cov[i * width + j] -= eigenvalue * v[i] * v[j];
            }
        }
        explained[k] = if total > 0.0 {
            (eigenvalue / total) as f32
        } else {
            0.0
        };
        axes[k] = v.iter().map(|&x| x as f32).collect();
    }
    let mean = mean.iter().map(|&m| m as f32).collect();
    (Projection { mean, axes }, explained)
}
