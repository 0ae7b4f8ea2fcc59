//! BatchNorm in training, on NCHW: per-channel batch statistics, the normalised output, and the
//! three gradients, each in one or two passes over the map. burn's generic version transposes
//! the map to `[channels, n]` for every reduction, which made BatchNorm half as costly again
//! as the rest of a CPU step.

/// Per channel of `x` `[batch, channels, h, w]`: the mean and the biased variance, and
/// `y = (x − mean) / √(var + ε) · gamma + beta`.
pub fn forward(
    x: &[f32],
    gamma: &[f32],
    beta: &[f32],
    [batch, channels, h, w]: [usize; 4],
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let plane = h * w;
    let n = (batch * plane) as f64;
    let planes = |c: usize| (0..batch).map(move |b| (b * channels + c) * plane);
    let (mut mean, mut var) = (vec![0.0f32; channels], vec![0.0f32; channels]);
    let mut y = vec![0.0f32; x.len()];
    for c in 0..channels {
        let sum: f64 = planes(c)
            .map(|p| x[p..p + plane].iter().map(|&v| v as f64).sum::<f64>())
            .sum();
        let m = sum / n;
        let squares: f64 = planes(c)
            .map(|p| {
                x[p..p + plane]
                    .iter()
                    .map(|&v| (v as f64 - m).powi(2))
                    .sum::<f64>()
            })
            .sum();
        (mean[c], var[c]) = (m as f32, (squares / n) as f32);
        let scale = gamma[c] / (var[c] as f64 + epsilon).sqrt() as f32;
        let shift = beta[c] - mean[c] * scale;
        for p in planes(c) {
            for (out, &v) in y[p..p + plane].iter_mut().zip(&x[p..p + plane]) {
                *out = v * scale + shift;
            }
        }
    }
    (y, mean, var)
}

/// The gradients for `x`, `gamma` and `beta` given the output's `dy`: with
/// `x̂ = (x − mean) / σ`, `dβ = Σ dy`, `dγ = Σ dy · x̂`, and
/// `dx = γ / σ · (dy − dβ / n − x̂ · dγ / n)`.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    dy: &[f32],
    x: &[f32],
    gamma: &[f32],
    mean: &[f32],
    var: &[f32],
    [batch, channels, h, w]: [usize; 4],
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let plane = h * w;
    let n = (batch * plane) as f32;
    let planes = |c: usize| (0..batch).map(move |b| (b * channels + c) * plane);
    let (mut dgamma, mut dbeta) = (vec![0.0f32; channels], vec![0.0f32; channels]);
    let mut dx = vec![0.0f32; x.len()];
    for c in 0..channels {
        let inv_std = 1.0 / (var[c] as f64 + epsilon).sqrt() as f32;
        let (mut sum_dy, mut sum_dy_xhat) = (0.0f64, 0.0f64);
        for p in planes(c) {
            for (&g, &v) in dy[p..p + plane].iter().zip(&x[p..p + plane]) {
                sum_dy += g as f64;
                sum_dy_xhat += (g * (v - mean[c]) * inv_std) as f64;
            }
        }
        (dbeta[c], dgamma[c]) = (sum_dy as f32, sum_dy_xhat as f32);
        let (mean_dy, mean_dy_xhat) = (dbeta[c] / n, dgamma[c] / n);
        let scale = gamma[c] * inv_std;
        for p in planes(c) {
            let rows = dx[p..p + plane]
                .iter_mut()
                .zip(&dy[p..p + plane])
                .zip(&x[p..p + plane]);
            for ((out, &g), &v) in rows {
                let xhat = (v - mean[c]) * inv_std;
                *out = scale * (g - mean_dy - xhat * mean_dy_xhat);
            }
        }
    }
    (dx, dgamma, dbeta)
}
