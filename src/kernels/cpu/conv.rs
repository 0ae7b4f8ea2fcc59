//! A valid, stride-1 convolution with bias, forward and backward, on plain f32 slices in NCHW.
//!
//! Two strategies, picked by the size of one output pixel's receptive field (K = Cin·kh·kw):
//! - **Direct** (K ≤ 32, the first layer's 1×3×3): shifted rows multiplied and added into each
//!   output plane. A matrix product with K = 9 would spend its time on packing, not arithmetic.
//! - **Patches** (the second layer's 32×3×3 = 288): im2col into each image's patch matrix
//!   `[K, P]`, then a matrix product; the patch matrices are kept for the weight gradient.

use super::{direct, patches};

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
    pub(super) fn p(&self) -> usize {
        self.out_h() * self.out_w()
    }
    /// One output pixel's receptive field: the patch matrix's rows.
    pub(super) fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Input values per image.
    pub(super) fn image_in(&self) -> usize {
        self.c_in * self.h * self.w
    }
    /// Whether the direct strategy runs (otherwise patches).
    pub fn direct(&self) -> bool {
        self.k() <= 32
    }
}

/// The output `[B, Cout, Ho, Wo]` and, for the patches strategy with `keep`, the patch
/// matrices the backward pass needs.
pub fn forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    d: ConvDims,
    keep: bool,
) -> (Vec<f32>, Option<Vec<f32>>) {
    match d.direct() {
        true => (direct::forward(x, w, b, d), None),
        false => patches::forward(x, w, b, d, keep),
    }
}

/// Gradients of input, weight and bias (each only when asked for) from the output's gradient.
/// `patches` is what `forward` kept for this input, if anything.
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
    let [dx, dw] = match patches {
        Some(patches) => patches::backward(dy, w, patches, d, [want_dx, want_dw]),
        None => {
            let wide = |plane: usize| direct::widen(&dy[plane * p..][..p], d);
            [
                want_dx.then(|| direct::input_grad(w, d, wide)),
                want_dw.then(|| direct::weight_grad(x, d, wide)),
            ]
        }
    };
    [dx, dw, db]
}
