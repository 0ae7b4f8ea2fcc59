//! A valid, stride-1 convolution with bias, forward and backward, on plain f32 slices in NCHW.
//!
//! Two strategies, picked by the size of one output pixel's receptive field (K = Cin·kh·kw):
//! - **Direct** (K ≤ 32, the first layer's 1×3×3): shifted rows multiplied and added into each
//!   output plane. A matrix product with K = 9 would spend its time on packing, not arithmetic.
//! - **Patches** (the second layer's 32×3×3 = 288): im2col into a patch matrix `[K, B·P]`, then
//!   one large matrix product; the patch matrix is kept for the weight gradient.

use super::parallel::{for_each_chunk, matmul, Strided};

/// Sizes of one convolution, from the input `[B, Cin, H, W]` and weight `[Cout, Cin, kh, kw]`.
#[derive(Clone, Copy, Debug)]
pub struct ConvDims {
    pub batch: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
}

impl ConvDims {
    /// `None` unless the shapes fit each other and the kernel fits the image.
    pub fn new(
        [batch, c_in, h, width]: [usize; 4],
        [c_out, w_in, kh, kw]: [usize; 4],
    ) -> Option<Self> {
        let fits = w_in == c_in && (1..=h).contains(&kh) && (1..=width).contains(&kw);
        fits.then_some(ConvDims {
            batch,
            c_in,
            h,
            w: width,
            c_out,
            kh,
            kw,
        })
    }
    pub fn out_h(&self) -> usize {
        self.h - self.kh + 1
    }
    pub fn out_w(&self) -> usize {
        self.w - self.kw + 1
    }
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.c_out, self.out_h(), self.out_w()]
    }
    /// Output pixels per image.
    fn p(&self) -> usize {
        self.out_h() * self.out_w()
    }
    /// One output pixel's receptive field: the patch matrix's rows.
    fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// The patch matrix's columns: every output pixel of every image.
    fn bp(&self) -> usize {
        self.batch * self.p()
    }
    /// Whether the direct strategy runs (otherwise patches).
    pub fn direct(&self) -> bool {
        self.k() <= 32
    }
}

/// The output `[B, Cout, Ho, Wo]`, and the patch matrix when that strategy ran.
pub fn forward(x: &[f32], w: &[f32], b: &[f32], d: ConvDims) -> (Vec<f32>, Option<Vec<f32>>) {
    if d.direct() {
        return (direct_forward(x, w, b, d), None);
    }
    let patches = im2col(x, d);
    let mut out_cb = vec![0.0f32; d.c_out * d.bp()]; // [Cout, B·P]
    let product = (d.c_out, d.bp(), d.k());
    matmul(
        &mut out_cb,
        product,
        Strided::rows(w, d.k()),
        Strided::rows(&patches, d.bp()),
    );
    // [Cout, B, P] → [B, Cout, P], adding the bias on the way.
    let p = d.p();
    let mut out = vec![0.0f32; d.batch * d.c_out * p];
    for_each_chunk(&mut out, d.c_out * p, |image, dst| {
        for (co, row) in dst.chunks_exact_mut(p).enumerate() {
            let src = &out_cb[(co * d.batch + image) * p..][..p];
            row.iter_mut().zip(src).for_each(|(o, s)| *o = s + b[co]);
        }
    });
    (out, Some(patches))
}

/// Gradients of input, weight and bias (each only when asked for) from the output's gradient.
/// `patches` is what `forward` returned for this input.
pub fn backward(
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    patches: Option<&[f32]>,
    d: ConvDims,
    [want_dx, want_dw, want_db]: [bool; 3],
) -> [Option<Vec<f32>>; 3] {
    let p = d.p();
    let db = want_db.then(|| {
        let mut db = vec![0.0f32; d.c_out];
        for (i, plane) in dy.chunks_exact(p).enumerate() {
            db[i % d.c_out] += plane.iter().sum::<f32>();
        }
        db
    });
    let (dx, dw) = match patches {
        Some(patches) => {
            // [B, Cout, P] → [Cout, B·P], the layout of the forward product.
            let mut dy_cb = vec![0.0f32; d.c_out * d.bp()];
            for_each_chunk(&mut dy_cb, d.bp(), |co, dst| {
                for image in 0..d.batch {
                    dst[image * p..][..p].copy_from_slice(&dy[(image * d.c_out + co) * p..][..p]);
                }
            });
            let dy_cb = Strided::rows(&dy_cb, d.bp());
            let dw = want_dw.then(|| {
                // dW[Cout, K] = dY[Cout, B·P] · patchesᵀ[B·P, K]
                let mut dw = vec![0.0f32; d.c_out * d.k()];
                let product = (d.c_out, d.k(), d.bp());
                matmul(
                    &mut dw,
                    product,
                    dy_cb,
                    Strided::transposed(patches, d.bp()),
                );
                dw
            });
            let dx = want_dx.then(|| {
                // dPatches[K, B·P] = Wᵀ[K, Cout] · dY[Cout, B·P], then back onto the pixels.
                let mut dpatches = vec![0.0f32; d.k() * d.bp()];
                let product = (d.k(), d.bp(), d.c_out);
                matmul(&mut dpatches, product, Strided::transposed(w, d.k()), dy_cb);
                col2im(&dpatches, d)
            });
            (dx, dw)
        }
        None => (
            want_dx.then(|| direct_input_grad(dy, w, d)),
            want_dw.then(|| direct_weight_grad(dy, x, d)),
        ),
    };
    [dx, dw, db]
}

// The direct strategy works on "wide" output rows: output (oy, ox) sits at oy·W + ox, as in
// the input, with W − Wo unused columns per row. Then every kernel tap is one long contiguous
// multiply-add of WIDE values between the plane and the input shifted by ky·W + kx, instead
// of Ho short rows: long enough for the compiler to vectorise.

impl ConvDims {
    /// Length of a wide plane: up to the last output pixel.
    fn wide(&self) -> usize {
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
}

/// The wide form of an output plane (zeros in the unused columns).
fn widen(plane: &[f32], d: ConvDims) -> Vec<f32> {
    let mut wide = vec![0.0f32; d.wide()];
    for (oy, row) in plane.chunks_exact(d.out_w()).enumerate() {
        wide[oy * d.w..][..d.out_w()].copy_from_slice(row);
    }
    wide
}

/// `dst += a · x`.
fn axpy(dst: &mut [f32], a: f32, x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if fma::available() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { fma::axpy(dst, a, x) };
    }
    dst.iter_mut().zip(x).for_each(|(d, x)| *d += a * x);
}

/// Dot product with eight running sums, so it vectorises (one sum would have to stay in order).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if fma::available() {
        // SAFETY: the CPU has AVX2 and FMA, checked just above.
        return unsafe { fma::dot(a, b) };
    }
    dot_in_lanes(a, b, |sum, x, y| sum + x * y)
}

fn dot_in_lanes(a: &[f32], b: &[f32], fmadd: impl Fn(f32, f32, f32) -> f32) -> f32 {
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    let mut sums = [0.0f32; 8];
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            sums[i] = fmadd(sums[i], x[i], y[i]);
        }
    }
    sums.iter().sum::<f32>() + tail
}

/// The same loops compiled for AVX2 + FMA, picked at run time: a plain build targets the
/// baseline x86-64 (4-wide, no fused multiply-add), which made the first convolution 3× slower.
#[cfg(target_arch = "x86_64")]
mod fma {
    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn axpy(dst: &mut [f32], a: f32, x: &[f32]) {
        dst.iter_mut()
            .zip(x)
            .for_each(|(d, x)| *d = a.mul_add(*x, *d));
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        super::dot_in_lanes(a, b, |sum, x, y| x.mul_add(y, sum))
    }
}

fn direct_forward(x: &[f32], w: &[f32], b: &[f32], d: ConvDims) -> Vec<f32> {
    let (wo, plane_in) = (d.out_w(), d.h * d.w);
    let mut out = vec![0.0f32; d.batch * d.c_out * d.p()];
    for_each_chunk(&mut out, d.p(), |plane, dst| {
        let (image, co) = (plane / d.c_out, plane % d.c_out);
        let mut wide = vec![b[co]; d.wide()];
        for ci in 0..d.c_in {
            let src = &x[(image * d.c_in + ci) * plane_in..][..plane_in];
            for (ky, kx) in d.taps() {
                let (shift, tap) = d.tap(co, ci, ky, kx);
                axpy(&mut wide, w[tap], &src[shift..][..d.wide()]);
            }
        }
        for (oy, row) in dst.chunks_exact_mut(wo).enumerate() {
            row.copy_from_slice(&wide[oy * d.w..][..wo]);
        }
    });
    out
}

fn direct_weight_grad(dy: &[f32], x: &[f32], d: ConvDims) -> Vec<f32> {
    let plane_in = d.h * d.w;
    let mut dw = vec![0.0f32; d.c_out * d.k()];
    for_each_chunk(&mut dw, d.k(), |co, dst| {
        for image in 0..d.batch {
            let g = widen(&dy[(image * d.c_out + co) * d.p()..][..d.p()], d);
            for ci in 0..d.c_in {
                let src = &x[(image * d.c_in + ci) * plane_in..][..plane_in];
                for (ky, kx) in d.taps() {
                    let (shift, tap) = d.tap(0, ci, ky, kx);
                    dst[tap] += dot(&g, &src[shift..][..d.wide()]);
                }
            }
        }
    });
    dw
}

fn direct_input_grad(dy: &[f32], w: &[f32], d: ConvDims) -> Vec<f32> {
    let mut dx = vec![0.0f32; d.batch * d.c_in * d.h * d.w];
    for_each_chunk(&mut dx, d.h * d.w, |plane, dst| {
        let (image, ci) = (plane / d.c_in, plane % d.c_in);
        for co in 0..d.c_out {
            let g = widen(&dy[(image * d.c_out + co) * d.p()..][..d.p()], d);
            for (ky, kx) in d.taps() {
                let (shift, tap) = d.tap(co, ci, ky, kx);
                axpy(&mut dst[shift..][..d.wide()], w[tap], &g);
            }
        }
    });
    dx
}

/// Patch matrix `[K, B·P]`: row (ci, ky, kx), column (image, oy, ox) = x[image, ci, oy+ky, ox+kx].
fn im2col(x: &[f32], d: ConvDims) -> Vec<f32> {
    let (ho, wo, p) = (d.out_h(), d.out_w(), d.p());
    let mut patches = vec![0.0f32; d.k() * d.bp()];
    for_each_chunk(&mut patches, d.bp(), |row, dst| {
        let (ci, ky, kx) = (row / (d.kh * d.kw), row / d.kw % d.kh, row % d.kw);
        for image in 0..d.batch {
            let plane = &x[(image * d.c_in + ci) * d.h * d.w..][..d.h * d.w];
            for oy in 0..ho {
                let src = &plane[(oy + ky) * d.w + kx..][..wo];
                dst[image * p + oy * wo..][..wo].copy_from_slice(src);
            }
        }
    });
    patches
}

/// The input's gradient from the patch matrix's: each patch entry adds back into the pixel it
/// was copied from.
fn col2im(dpatches: &[f32], d: ConvDims) -> Vec<f32> {
    let (wo, p) = (d.out_w(), d.p());
    let mut dx = vec![0.0f32; d.batch * d.c_in * d.h * d.w];
    for_each_chunk(&mut dx, d.h * d.w, |plane, dst| {
        let (image, ci) = (plane / d.c_in, plane % d.c_in);
        for ky in 0..d.kh {
            for kx in 0..d.kw {
                let row = (ci * d.kh + ky) * d.kw + kx;
                let src = &dpatches[row * d.bp() + image * p..][..p];
                for (oy, g_row) in src.chunks_exact(wo).enumerate() {
                    let shifted = &mut dst[(oy + ky) * d.w + kx..][..wo];
                    shifted.iter_mut().zip(g_row).for_each(|(a, g)| *a += g);
                }
            }
        }
    });
    dx
}
