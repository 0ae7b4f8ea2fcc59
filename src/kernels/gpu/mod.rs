//! Hand-written WebGPU kernels, with their own backward passes, for the layers that take most
//! of a training step on burn's WebGPU backend: the valid 3×3 convolution followed by 2×2 max
//! pooling and ReLU (`conv_pool`), the dense layers (`linear`), and Adam's update (`adam`).
//!
//! On SwiftShader, the software adapter Chromium falls back to without a GPU, burn 0.22's ops
//! (without autotune, which crashes there) ran a batch-128 step in 3.3 s on our test machine;
//! with these kernels it takes 0.8–0.95 s (`./build.sh bench` times both). The convolutions
//! here compute only the outputs the pooling keeps and send each window's gradient to its
//! winner alone, as `flex_kernels` does on the CPU; every kernel keeps a block of results in
//! registers; and a step launches 58 kernels instead of 156, since each of burn's ops costs
//! about 5 ms there whatever its size. `tests/web.rs` checks outputs and gradients against
//! burn's ops on WebGPU.
//!
//! The public functions return `None` for anything else (another backend or dtype, an
//! unsupported shape); `super` then tries the CPU kernels and burn's ops.

mod adam;
mod conv_pool;
mod conv_pool_wgsl;
mod linear;
mod matmul_wgsl;

pub use adam::FusedAdam;
pub use conv_pool::conv2d_pool2_relu;
pub use linear::linear;

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::{Cube, DType};
use burn::tensor::Shape;
use burn_cubecl::template::{KernelSource, SourceKernel, SourceTemplate};
use burn_cubecl::tensor::CubeTensor;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use cubecl::{CubeCount, CubeDim};

/// Whether the kernels run (they do unless `set_enabled(false)`): `./build.sh bench` turns them
/// off to time burn's own ops on the same machine and adapter.
static ENABLED: AtomicBool = AtomicBool::new(true);

pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Every kernel's entry point: 64 invocations per workgroup, the workgroups in rows (of at
/// most 65,535) when there are many, `i` the invocation's index.
const ENTRY: &str = "@compute @workgroup_size(64)\nfn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) n: vec3<u32>) {\n    let i = id.x + id.y * n.x * 64u;\n";

super::lanes!(Cube, CubeTensor);

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn empty(like: &CubeTensor, shape: &[usize], dtype: DType) -> CubeTensor {
    let shape = Shape::from(shape.to_vec());
    let handle = like.client.empty(shape.num_elements() * dtype.size());
    CubeTensor::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        shape,
        handle,
        dtype,
    )
}

/// One kernel written for one layer's sizes. Its WGSL is generated only when the cache of
/// compiled kernels misses, and `key` (the sizes) is part of the cache's key.
struct Kernel {
    name: &'static str,
    key: String,
    source: Box<dyn Fn() -> String + Send + Sync>,
}

impl Kernel {
    fn new<S: Debug + Send + Sync + 'static>(
        name: &'static str,
        sizes: S,
        wgsl: fn(&S) -> String,
    ) -> Self {
        let key = format!("{sizes:?}");
        Kernel {
            name,
            key,
            source: Box::new(move || wgsl(&sizes)),
        }
    }
}

impl KernelSource for Kernel {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new((self.source)())
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.name, self.key.clone()))
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

/// Queues `kernel` over `invocations` (64 per workgroup, in rows of at most 65,535
/// workgroups), its buffers bound in order.
fn launch<const N: usize>(kernel: Kernel, invocations: usize, buffers: [&CubeTensor; N]) {
    let groups = invocations.div_ceil(64) as u32;
    let columns = groups.min(65_535);
    let count = CubeCount::Static(columns, groups.div_ceil(columns), 1);
    let client = buffers[0].client.clone();
    let arguments = KernelArguments::new()
        .with_buffers(buffers.iter().map(|t| t.handle.clone().binding()).collect());
    client.launch(
        Box::new(SourceKernel::new(kernel, CubeDim::new_1d(64))),
        count,
        arguments,
    );
}

/// `part` [rows, …] summed over its rows, shaped `shape` (the rest of `part`'s size): a dense
/// layer's bias gradient, or the slices of a weight gradient added up.
fn column_sums(part: &CubeTensor, shape: &[usize]) -> CubeTensor {
    let dims = part.meta.shape();
    let (rows, cols) = (dims[0], dims[1..].iter().product::<usize>());
    let out = empty(part, shape, DType::F32);
    launch(
        Kernel::new("column_sums", (rows, cols), column_sums_wgsl),
        cols,
        [part, &out],
    );
    out
}

fn column_sums_wgsl(&(rows, cols): &(usize, usize)) -> String {
    format!(
        "@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
{ENTRY}    if (i >= {cols}u) {{ return; }}
    var sum = 0.0;
    for (var r = 0u; r < {rows}u; r++) {{
        sum += part[r * {cols}u + i];
    }}
    out[i] = sum;
}}
"
    )
}
