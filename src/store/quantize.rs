//! int8 weights: each weight matrix or kernel stored as signed bytes with one f32 scale per
//! output channel, a quarter of its f32 size. Vectors (biases, BatchNorm's scales
//! and statistics) are a few hundred numbers and stay f32. Loading turns the bytes back into
//! f32 weights, so the model computes as before, with weights off by at most half a step.
//!
//! The record is the model's float tensors in visit order, each as
//! `kind (u8) · rank (u8) · dims (u32 LE each) · values`, where kind 0 is f32 values and
//! kind 1 is one f32 scale per output channel then the i8 values in the tensor's order. The
//! output channel is the first axis of a convolution kernel `[out, in, 3, 3]` and the last of
//! a dense weight `[in, out]`.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};

use crate::nets::{Architecture, Network};
use crate::store::weights::WeightsError;

const F32: u8 = 0;
const INT8: u8 = 1;
/// The largest magnitude a weight is stored as: symmetric, so 0 stays exactly 0.
const LEVELS: f32 = 127.0;

/// The output channel of each value of a tensor of shape `dims`, and how many there are.
fn channels(dims: &[usize]) -> (usize, impl Fn(usize) -> usize) {
    let len: usize = dims.iter().product();
    let (count, per_channel, stride) = match dims {
        [_, out] => (*out, 1, *out),
        _ => (dims[0], len / dims[0].max(1), usize::MAX),
    };
    let of = move |i: usize| match stride {
        usize::MAX => i / per_channel.max(1),
        stride => i % stride,
    };
    (count, of)
}

/// A weight tensor of shape `dims` as int8 with one scale per output channel:
/// `w ≈ q · scale`, `|w − q · scale| ≤ scale / 2`, and the largest weight of each channel is
/// ±127 steps.
pub fn quantize(values: &[f32], dims: &[usize]) -> (Vec<f32>, Vec<i8>) {
    let (count, channel) = channels(dims);
    let mut max = vec![0.0f32; count];
    for (i, w) in values.iter().enumerate() {
        max[channel(i)] = max[channel(i)].max(w.abs());
    }
    let scales: Vec<f32> = (max.iter())
        .map(|&m| if m > 0.0 { m / LEVELS } else { 1.0 })
        .collect();
    let q = (values.iter().enumerate())
        .map(|(i, w)| (w / scales[channel(i)]).round().clamp(-LEVELS, LEVELS) as i8)
        .collect();
    (scales, q)
}

/// The f32 weights an int8 tensor stands for.
pub fn dequantize(scales: &[f32], q: &[i8], dims: &[usize]) -> Vec<f32> {
    let (_, channel) = channels(dims);
    (q.iter().enumerate())
        .map(|(i, &v)| v as f32 * scales[channel(i)])
        .collect()
}

/// The model's weights as an int8 record. The model must be on the CPU (`weights::to_bytes`
/// reads a WebGPU model back first).
pub fn encode(model: &Network) -> Result<Vec<u8>, WeightsError> {
    struct Encode(Vec<u8>, Option<WeightsError>);
    impl ModuleVisitor for Encode {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let dims = tensor.dims();
            let values = match tensor.into_data().convert::<f32>().try_into_vec::<f32>() {
                Ok(values) => values,
                Err(e) => return self.1 = Some(WeightsError::Record(format!("{e:?}"))),
            };
            let out = &mut self.0;
            out.push(if D >= 2 { INT8 } else { F32 });
            out.push(D as u8);
            for d in dims {
                out.extend_from_slice(&(d as u32).to_le_bytes());
            }
            if D < 2 {
                values
                    .iter()
                    .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
                return;
            }
            let (scales, q) = quantize(&values, &dims);
            scales
                .iter()
                .for_each(|s| out.extend_from_slice(&s.to_le_bytes()));
            out.extend(q.iter().map(|&v| v as u8));
        }
    }
    let mut encode = Encode(Vec::new(), None);
    model.visit(&mut encode);
    match encode.1 {
        Some(error) => Err(error),
        None => Ok(encode.0),
    }
}

/// A `config` model on `device` with the weights of an int8 record; a record that does not fit
/// the model (shapes, length) is refused.
pub fn decode(
    config: &Architecture,
    record: &[u8],
    device: &Device,
) -> Result<Network, WeightsError> {
    struct Decode<'a> {
        bytes: &'a [u8],
        device: Device,
        error: Option<WeightsError>,
    }
    impl Decode<'_> {
        fn take(&mut self, n: usize) -> Result<&[u8], WeightsError> {
            if self.bytes.len() < n {
                return Err(WeightsError::Record("the int8 record is too short".into()));
            }
            let (head, rest) = self.bytes.split_at(n);
            self.bytes = rest;
            Ok(head)
        }

        fn f32s(&mut self, n: usize) -> Result<Vec<f32>, WeightsError> {
            // No count this large fits in the record, so saturating makes it "too short".
            Ok(self
                .take(n.saturating_mul(4))?
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect())
        }

        /// The next tensor's values, which must have `dims`.
        fn next(&mut self, dims: &[usize]) -> Result<Vec<f32>, WeightsError> {
            let [kind, rank] = self.take(2)? else {
                unreachable!()
            };
            let (kind, rank) = (*kind, *rank as usize);
            let stored: Vec<usize> = (0..rank)
                .map(|_| {
                    self.take(4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                })
                .collect::<Result<_, _>>()?;
            if stored != dims {
                return Err(WeightsError::Record(format!(
                    "a tensor of shape {stored:?} where the model has {dims:?}"
                )));
            }
            let len: usize = dims.iter().product();
            match kind {
                F32 => self.f32s(len),
                INT8 if rank >= 2 => {
                    let scales = self.f32s(channels(dims).0)?;
                    let q: Vec<i8> = self.take(len)?.iter().map(|&v| v as i8).collect();
                    Ok(dequantize(&scales, &q, dims))
                }
                _ => Err(WeightsError::Record(format!("unknown tensor kind {kind}"))),
            }
        }
    }
    impl ModuleMapper for Decode<'_> {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if self.error.is_some() {
                return param;
            }
            let dims = param.val().dims();
            match self.next(&dims) {
                Ok(values) => {
                    let device = self.device.clone();
                    param.map(|_| Tensor::from_data(TensorData::new(values, dims), &device))
                }
                Err(e) => {
                    self.error = Some(e);
                    param
                }
            }
        }
    }
    let mut decode = Decode {
        bytes: record,
        device: device.clone(),
        error: None,
    };
    let model = config.init(device).map(&mut decode);
    if let Some(error) = decode.error {
        return Err(error);
    }
    if !decode.bytes.is_empty() {
        return Err(WeightsError::Record(format!(
            "{} bytes left over after the last tensor",
            decode.bytes.len()
        )));
    }
    Ok(model)
}
