//! The WGSL of the convolution-and-pooling kernels, written out for one layer's sizes.
//!
//! SwiftShader, the adapter Chromium falls back to without a GPU (and the only one on our test
//! machines), runs four invocations side by side in SIMD registers and neither unrolls loops
//! nor keeps a private array in registers. So every size is a constant here and the inner
//! loops are unrolled into named values: the forward kernel went from 1.0 s to 0.15 s on
//! SwiftShader with that alone (batch 128, the second layer). Loops over channels and the
//! batch stay loops.
//!
//! Layouts: `x` [batch, cin, h, w], pooled maps [batch, cout, ph, pw], all row-major; the
//! forward pass reads the weights as [cin, 3·3, cout] and the input gradient as
//! [cout, 3·3, cin] (`transpose` writes both), so each reads four channels per vec4.

use std::fmt::Write;

use super::ENTRY;

/// The sizes a kernel is written for: a valid 3×3 stride-1 convolution on `[batch, cin, h, w]`
/// followed by 2×2 max pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dims {
    pub batch: usize,
    pub cin: usize,
    pub cout: usize,
    pub h: usize,
    pub w: usize,
}

impl Dims {
    /// Pooled rows and columns: the convolution's (h − 2) halved, an odd last one dropped.
    pub fn pooled(&self) -> (usize, usize) {
        ((self.h - 2) / 2, (self.w - 2) / 2)
    }

    /// Output channels per forward invocation: 16 measured fastest on SwiftShader (8 and 32
    /// within 25%); smaller when `cout` is not a multiple.
    pub fn forward_channels(&self) -> usize {
        [16, 8, 4]
            .into_iter()
            .find(|c| self.cout.is_multiple_of(*c))
            .unwrap_or(4)
    }

    /// Input channels per input-gradient invocation, in vec4s: up to 32 channels (252 ms
    /// against 320 for 16 and 479 for 8, the second layer).
    pub fn input_grad_quads(&self) -> usize {
        [8, 4, 2, 1]
            .into_iter()
            .find(|q| self.cin.is_multiple_of(4 * q))
            .unwrap_or(1)
    }

    /// Whether the kernels handle these sizes: a pooled output, and channels in fours where
    /// they are read as vec4s (the first layer's single input channel needs no input gradient).
    pub fn supported(&self, input_grad: bool) -> bool {
        self.h >= 4
            && self.w >= 4
            && self.cout.is_multiple_of(4)
            && (!input_grad || self.cin.is_multiple_of(4))
    }
}

/// The invocations a kernel needs, for `launch`'s dispatch.
pub fn forward_invocations(d: &Dims) -> usize {
    let (ph, pw) = d.pooled();
    d.batch * d.cout / d.forward_channels() * ph * pw
}

/// Convolution, pooling and ReLU for `forward_channels()` output channels at one pooled
/// position: the 4×4 input patch under the window is read once per input channel and used
/// for every channel, with the window's four outputs kept per channel. Writes the pooled value
/// and the winner (0..3 row-major in the window, 4 where ReLU zeroed it).
pub fn forward(d: &Dims) -> String {
    let (ph, pw) = d.pooled();
    let (cin, cout, h, w) = (d.cin, d.cout, d.h, d.w);
    let c = d.forward_channels();
    let (quads, groups) = (c / 4, cout / c);
    let mut s = String::from(
        "@group(0) @binding(0) var<storage, read> x: array<f32>;\n\
         @group(0) @binding(1) var<storage, read> weight: array<vec4<f32>>; // [cin, 9, cout]\n\
         @group(0) @binding(2) var<storage, read> bias: array<f32>;\n\
         @group(0) @binding(3) var<storage, read_write> y: array<f32>;\n\
         @group(0) @binding(4) var<storage, read_write> winner: array<u32>;\n",
    );
    s += ENTRY;
    let _ = writeln!(s, "    if (i >= {}u) {{ return; }}", forward_invocations(d));
    let _ = writeln!(
        s,
        "    let px = i % {pw}u;\n    let py = (i / {pw}u) % {ph}u;\n    let group = (i / {}u) % {groups}u;\n    let b = i / {}u;",
        ph * pw,
        ph * pw * groups
    );
    // a{p}_{q}: window position p (00, 01, 10, 11), output channels 4q..4q+3 of the group.
    for p in 0..4 {
        for q in 0..quads {
            let _ = writeln!(s, "    var a{p}_{q} = vec4<f32>();");
        }
    }
    let _ = writeln!(s, "    for (var ci = 0u; ci < {cin}u; ci++) {{");
    let _ = writeln!(
        s,
        "        let base = ((b * {cin}u + ci) * {h}u + 2u * py) * {w}u + 2u * px;"
    );
    for r in 0..4 {
        for col in 0..4 {
            let _ = writeln!(s, "        let p{r}{col} = x[base + {}u];", r * w + col);
        }
    }
    let _ = writeln!(
        s,
        "        let wb = ci * {}u + group * {quads}u;",
        9 * cout / 4
    );
    for k in 0..9 {
        let (ky, kx) = (k / 3, k % 3);
        for q in 0..quads {
            let _ = writeln!(
                s,
                "        let w{k}_{q} = weight[wb + {}u];",
                k * cout / 4 + q
            );
        }
        for q in 0..quads {
            for p in 0..4 {
                let (r, col) = (ky + p / 2, kx + p % 2);
                let _ = writeln!(s, "        a{p}_{q} += p{r}{col} * w{k}_{q};");
            }
        }
    }
    s += "    }\n";
    for q in 0..quads {
        for (lane, comp) in ["x", "y", "z", "w"].iter().enumerate() {
            let _ = writeln!(
                s,
                "    emit(b, group * {c}u + {}u, py, px, vec4<f32>(a0_{q}.{comp}, a1_{q}.{comp}, a2_{q}.{comp}, a3_{q}.{comp}));",
                q * 4 + lane
            );
        }
    }
    s += "}\n";
    let _ = write!(
        s,
        "fn emit(b: u32, co: u32, py: u32, px: u32, a: vec4<f32>) {{
    var best = a.x;
    var won = 0u;
    if (a.y > best) {{ best = a.y; won = 1u; }}
    if (a.z > best) {{ best = a.z; won = 2u; }}
    if (a.w > best) {{ best = a.w; won = 3u; }}
    let v = best + bias[co];
    let o = ((b * {cout}u + co) * {ph}u + py) * {pw}u + px;
    y[o] = max(v, 0.0);
    winner[o] = select(4u, won, v > 0.0);
}}
"
    );
    s
}

/// Output channels per weight-gradient invocation: 8 measured fastest (153 ms against 199 for
/// 4 and 425 for one gathering nine pixels per winner), fewer where that would leave under 256
/// invocations to spread over the cores (the first layer has one input channel).
pub fn weight_grad_channels(d: &Dims) -> usize {
    [8, 4, 2]
        .into_iter()
        .find(|c| d.cout.is_multiple_of(*c) && d.cout / c * d.cin >= 256)
        .unwrap_or(1)
}

/// Slices of the batch summed separately, then added up (`column_sums`): enough for 256 invocations
/// when the channels alone give fewer (the first layer's 32 made one workgroup, one core).
pub fn weight_grad_slices(d: &Dims) -> usize {
    let lanes = d.cout / weight_grad_channels(d) * d.cin;
    256usize.div_ceil(lanes).clamp(1, d.batch)
}

pub fn weight_grad_invocations(d: &Dims) -> usize {
    d.cout / weight_grad_channels(d) * d.cin * weight_grad_slices(d)
}

/// The weight and bias gradients. Each pooled gradient reaches only its window's winner, so
/// the sums run over batch × pooled positions. One invocation per input channel and block of
/// output channels, the input channel fastest (neighbouring lanes read the same gradients).
/// It reads the 4×4 patch under each window once for every channel of its block, and adds
/// the gradient masked to each of the four possible winners instead of branching.
pub fn weight_grad(d: &Dims) -> String {
    let (ph, pw) = d.pooled();
    let (batch, cin, cout, h, w) = (d.batch, d.cin, d.cout, d.h, d.w);
    let cb = weight_grad_channels(d);
    let mut s = String::from(
        "@group(0) @binding(0) var<storage, read> x: array<f32>;\n\
         @group(0) @binding(1) var<storage, read> dy: array<f32>;\n\
         @group(0) @binding(2) var<storage, read> winner: array<u32>;\n\
         @group(0) @binding(3) var<storage, read_write> dw: array<f32>; // [slices, cout, cin, 3, 3]\n\
         @group(0) @binding(4) var<storage, read_write> db: array<f32>; // [slices, cout]\n",
    );
    s += ENTRY;
    let slices = weight_grad_slices(d);
    let chunk = batch.div_ceil(slices);
    let blocks = cout / cb;
    let _ = writeln!(
        s,
        "    if (i >= {}u) {{ return; }}",
        weight_grad_invocations(d)
    );
    let _ = writeln!(
        s,
        "    let ci = i % {cin}u;\n    let block = (i / {cin}u) % {blocks}u;\n    let slice = i / {}u;",
        cin * blocks
    );
    for c in 0..cb {
        for k in 0..9 {
            let _ = writeln!(s, "    var a{c}_{k} = 0.0;");
        }
        let _ = writeln!(s, "    var bias{c} = 0.0;");
    }
    let _ = write!(
        s,
        "    for (var b = slice * {chunk}u; b < min(slice * {chunk}u + {chunk}u, {batch}u); b++) {{
        let image = (b * {cin}u + ci) * {}u;
        for (var py = 0u; py < {ph}u; py++) {{
            for (var px = 0u; px < {pw}u; px++) {{
                let base = image + 2u * py * {w}u + 2u * px;
",
        h * w
    );
    for r in 0..4 {
        for col in 0..4 {
            let _ = writeln!(
                s,
                "                let p{r}{col} = x[base + {}u];",
                r * w + col
            );
        }
    }
    for c in 0..cb {
        let _ = writeln!(
            s,
            "                let o{c} = ((b * {cout}u + block * {cb}u + {c}u) * {ph}u + py) * {pw}u + px;\n                let won{c} = winner[o{c}];\n                let g{c} = dy[o{c}];\n                bias{c} += select(0.0, g{c}, won{c} < 4u);"
        );
        for q in 0..4 {
            let _ = writeln!(
                s,
                "                let g{c}_{q} = select(0.0, g{c}, won{c} == {q}u);"
            );
        }
        for k in 0..9 {
            let (ky, kx) = (k / 3, k % 3);
            let terms: Vec<String> = (0..4)
                .map(|q| format!("g{c}_{q} * p{}{}", ky + q / 2, kx + q % 2))
                .collect();
            let _ = writeln!(s, "                a{c}_{k} += {};", terms.join(" + "));
        }
    }
    s += "            }\n        }\n    }\n";
    for c in 0..cb {
        for k in 0..9 {
            let _ = writeln!(
                s,
                "    dw[((slice * {cout}u + block * {cb}u + {c}u) * {cin}u + ci) * 9u + {k}u] = a{c}_{k};"
            );
        }
        let _ = writeln!(
            s,
            "    if (ci == 0u) {{ db[slice * {cout}u + block * {cb}u + {c}u] = bias{c}; }}"
        );
    }
    s += "}\n";
    s
}

pub fn input_grad_invocations(d: &Dims) -> usize {
    d.batch * d.h * d.w * d.cin / (4 * d.input_grad_quads())
}

/// The input gradient. Each pixel gathers from the pooling windows whose 4×4 footprint covers
/// it, and from each window only its winner, when the winner's 3×3 kernel covers the pixel.
/// One invocation per pixel and group of input channels (fastest), so neighbouring lanes share
/// the windows and winners and read the weights as vec4s. A miss adds zero times a clamped
/// weight rather than branching, which SwiftShader runs faster (252 ms against 329).
pub fn input_grad(d: &Dims) -> String {
    let (ph, pw) = d.pooled();
    let (cin, cout, h, w) = (d.cin, d.cout, d.h, d.w);
    let v = d.input_grad_quads();
    let groups = cin / (4 * v);
    let mut s = String::from(
        "@group(0) @binding(0) var<storage, read> dy: array<f32>;\n\
         @group(0) @binding(1) var<storage, read> winner: array<u32>;\n\
         @group(0) @binding(2) var<storage, read> weight: array<vec4<f32>>; // [cout, 9, cin]\n\
         @group(0) @binding(3) var<storage, read_write> dx: array<f32>;\n",
    );
    s += ENTRY;
    let _ = writeln!(
        s,
        "    if (i >= {}u) {{ return; }}",
        input_grad_invocations(d)
    );
    let _ = write!(
        s,
        "    let cg = i % {groups}u;
    let xx = (i / {groups}u) % {w}u;
    let yy = (i / {}u) % {h}u;
    let b = i / {}u;
    // The windows whose rows 2py..2py+3 hold this pixel, likewise for columns.
    let py_lo = select(0u, (yy - 2u) / 2u, yy >= 3u);
    let py_hi = min(yy / 2u, {}u);
    let px_lo = select(0u, (xx - 2u) / 2u, xx >= 3u);
    let px_hi = min(xx / 2u, {}u);
",
        groups * w,
        groups * w * h,
        ph - 1,
        pw - 1
    );
    for q in 0..v {
        let _ = writeln!(s, "    var acc{q} = vec4<f32>();");
    }
    let _ = write!(
        s,
        "    for (var py = py_lo; py <= py_hi; py++) {{
        for (var px = px_lo; px <= px_hi; px++) {{
            for (var co = 0u; co < {cout}u; co++) {{
                let o = ((b * {cout}u + co) * {ph}u + py) * {pw}u + px;
                let won = winner[o];
                // The winner's kernel offset from this pixel; it wraps past 2 when it misses.
                let ky = yy - (2u * py + won / 2u);
                let kx = xx - (2u * px + won % 2u);
                let g = select(0.0, dy[o], won < 4u && ky < 3u && kx < 3u);
                let wb = (co * 9u + min(ky, 2u) * 3u + min(kx, 2u)) * {}u + cg * {v}u;
",
        cin / 4
    );
    for q in 0..v {
        let _ = writeln!(s, "                acc{q} += g * weight[wb + {q}u];");
    }
    s += "            }\n        }\n    }\n";
    for q in 0..v {
        for (lane, comp) in ["x", "y", "z", "w"].iter().enumerate() {
            let _ = writeln!(
                s,
                "    dx[((b * {cin}u + cg * {}u + {}u) * {h}u + yy) * {w}u + xx] = acc{q}.{comp};",
                4 * v,
                q * 4 + lane
            );
        }
    }
    s += "}\n";
    s
}

/// Copies the weights [cout, cin, 9] into the two layouts above: `forward` [cin, 9, cout]
/// and `input_grad` [cout, 9, cin].
pub fn transpose(d: &Dims) -> String {
    let (cin, cout) = (d.cin, d.cout);
    let mut s = String::from(
        "@group(0) @binding(0) var<storage, read> weight: array<f32>;\n\
         @group(0) @binding(1) var<storage, read_write> for_forward: array<f32>;\n\
         @group(0) @binding(2) var<storage, read_write> for_input_grad: array<f32>;\n",
    );
    s += ENTRY;
    let _ = write!(
        s,
        "    if (i >= {}u) {{ return; }}
    let k = i % 9u;
    let ci = (i / 9u) % {cin}u;
    let co = i / {}u;
    let v = weight[i];
    for_forward[(ci * 9u + k) * {cout}u + co] = v;
    for_input_grad[(co * 9u + k) * {cin}u + ci] = v;
}}
",
        cout * cin * 9,
        cin * 9
    );
    s
}

pub fn transpose_invocations(d: &Dims) -> usize {
    d.cout * d.cin * 9
}
