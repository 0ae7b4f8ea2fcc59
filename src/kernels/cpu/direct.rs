//! The direct strategy for a convolution with a small receptive field (K = Cin·kh·kw ≤ 32, the
//! first layer's 1×3×3): shifted input rows multiplied and added into each output plane. A
//! matrix product with K = 9 would spend its time on packing, not arithmetic.

use super::conv::ConvDims;
use super::parallel::for_each_chunk;
use super::simd;

// The direct strategy works on "wide" output rows: output (oy, ox) sits at oy·W + ox, as in
// the input, with W − Wo unused columns per row. Then every kernel tap is one long contiguous
// multiply-add of WIDE values between the plane and the input shifted by ky·W + kx, instead
// of Ho short rows: long enough for the compiler to vectorise.

impl ConvDims {
    /// Length of a wide plane: up to the last output pixel.
    pub(super) fn wide(&self) -> usize {
        (self.out_h() - 1) * self.w + self.out_w()
    }
    /// Offset of tap (ky, kx) in an input plane, and the tap's index in channel `co`'s kernel
    /// for input channel `ci`.
    fn tap(&self, co: usize, ci: usize, ky: usize, kx: usize) -> (usize, usize) {
        (
            ky * self.w + kx,
            ((co * self.c_in + ci) * self.kh + ky) * self.kw + kx,
        )
    }
    fn taps(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.kh).flat_map(move |ky| (0..self.kw).map(move |kx| (ky, kx)))
    }
    /// One kernel plane's taps in groups of `T` (which divides kh·kw): the index of each
    /// group's first tap, and the taps' offsets in an input plane.
    fn tap_groups<const T: usize>(&self) -> impl Iterator<Item = (usize, [usize; T])> {
        let shifts: Vec<usize> = self.taps().map(|(ky, kx)| ky * self.w + kx).collect();
        let groups = shifts.chunks_exact(T).map(|g| g.try_into().unwrap());
        groups
            .enumerate()
            .map(|(i, g)| (i * T, g))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

/// The wide form of an output plane (zeros in the unused columns).
pub(super) fn widen(plane: &[f32], d: ConvDims) -> Vec<f32> {
    let mut wide = vec![0.0f32; d.wide()];
    for (oy, row) in plane.chunks_exact(d.out_w()).enumerate() {
        wide[oy * d.w..][..d.out_w()].copy_from_slice(row);
    }
    wide
}

pub(super) fn forward(x: &[f32], w: &[f32], b: &[f32], d: ConvDims) -> Vec<f32> {
    let wo = d.out_w();
    let mut out = vec![0.0f32; d.batch * d.c_out * d.p()];
    for_each_chunk(&mut out, d.p(), |i, dst| {
        let wide = plane(x, w, b, d, i);
        for (oy, row) in dst.chunks_exact_mut(wo).enumerate() {
            row.copy_from_slice(&wide[oy * d.w..][..wo]);
        }
    });
    out
}

/// Output plane `plane` (= image · Cout + output channel) in its wide form.
pub(super) fn plane(x: &[f32], w: &[f32], b: &[f32], d: ConvDims, plane: usize) -> Vec<f32> {
    match d.kh * d.kw {
        9 => plane_by::<9>(x, w, b, d, plane),
        _ => plane_by::<1>(x, w, b, d, plane),
    }
}

/// `direct_plane`, `T` taps at a time.
fn plane_by<const T: usize>(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    d: ConvDims,
    plane: usize,
) -> Vec<f32> {
    let (image, co) = (plane / d.c_out, plane % d.c_out);
    let (plane_in, taps) = (d.h * d.w, d.kh * d.kw);
    let mut wide = vec![b[co]; d.wide()];
    for ci in 0..d.c_in {
        let src = &x[(image * d.c_in + ci) * plane_in..][..plane_in];
        let kernel = &w[(co * d.c_in + ci) * taps..][..taps];
        for (first, shifts) in d.tap_groups::<T>() {
            let weights = kernel[first..][..T].try_into().unwrap();
            simd::multiply_add(&mut wide, src, shifts, weights);
        }
    }
    wide
}

// The direct strategy's gradients take each output plane's gradient (plane = image · Cout +
// output channel) in wide form from `grad`: the plain convolution widens its output's
// gradient, the fused convolution + pooling scatters the pooled gradient onto the winners.

pub(super) fn weight_grad(
    x: &[f32],
    d: ConvDims,
    grad: impl Fn(usize) -> Vec<f32> + Sync + Send,
) -> Vec<f32> {
    match d.kh * d.kw {
        9 => weight_grad_by::<9>(x, d, grad),
        _ => weight_grad_by::<1>(x, d, grad),
    }
}

/// `direct_weight_grad`, `T` taps at a time.
fn weight_grad_by<const T: usize>(
    x: &[f32],
    d: ConvDims,
    grad: impl Fn(usize) -> Vec<f32> + Sync + Send,
) -> Vec<f32> {
    let (plane_in, taps) = (d.h * d.w, d.kh * d.kw);
    let mut dw = vec![0.0f32; d.c_out * d.k()];
    for_each_chunk(&mut dw, d.k(), |co, dst| {
        for image in 0..d.batch {
            let g = grad(image * d.c_out + co);
            for (ci, dst) in dst.chunks_exact_mut(taps).enumerate() {
                let src = &x[(image * d.c_in + ci) * plane_in..][..plane_in];
                for (first, shifts) in d.tap_groups::<T>() {
                    let sums = simd::dots(&g, src, shifts);
                    dst[first..][..T]
                        .iter_mut()
                        .zip(sums)
                        .for_each(|(d, s)| *d += s);
                }
            }
        }
    });
    dw
}

pub(super) fn input_grad(
    w: &[f32],
    d: ConvDims,
    grad: impl Fn(usize) -> Vec<f32> + Sync + Send,
) -> Vec<f32> {
    let mut dx = vec![0.0f32; d.batch * d.c_in * d.h * d.w];
    for_each_chunk(&mut dx, d.h * d.w, |plane, dst| {
        let (image, ci) = (plane / d.c_in, plane % d.c_in);
        for co in 0..d.c_out {
            let g = grad(image * d.c_out + co);
            for (ky, kx) in d.taps() {
                let (shift, tap) = d.tap(co, ci, ky, kx);
                simd::multiply_add(&mut dst[shift..][..d.wide()], &g, [0], [w[tap]]);
            }
        }
    });
    dx
}
