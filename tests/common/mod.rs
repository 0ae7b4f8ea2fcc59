//! Shared by the integration tests: where MNIST is, and small synthetic datasets.
#![allow(dead_code)]

use std::path::PathBuf;

#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod nets;
pub mod views;

use kindling::data::{Dataset, Split, IMAGE_PIXELS};

/// The MNIST folder `./build.sh test` fills (or `KINDLING_DATA`). A test that needs it fails,
/// never skips, when it is missing.
pub fn mnist_dir() -> PathBuf {
    std::env::var_os("KINDLING_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/mnist"))
}

pub fn mnist(split: Split) -> Dataset {
    Dataset::load(&mnist_dir(), split)
        .unwrap_or_else(|e| panic!("{e} (./build.sh test fetches MNIST before the tests)"))
}

/// Ten easily told apart patterns (a bright bar whose position is the class) with a little
/// deterministic noise: enough for the loss to have something to learn.
pub fn toy_dataset(count: usize) -> Dataset {
    let mut images = vec![0u8; count * IMAGE_PIXELS];
    let mut labels = Vec::with_capacity(count);
    let mut state = 0x2545_f491u32;
    for i in 0..count {
        let class = (i % 10) as u8;
        let image = &mut images[i * IMAGE_PIXELS..(i + 1) * IMAGE_PIXELS];
        for (p, pixel) in image.iter_mut().enumerate() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let row = p / 28;
            let bar = row >= 2 + 2 * class as usize && row < 4 + 2 * class as usize;
            *pixel = if bar {
                200 + (state % 56) as u8
            } else {
                (state % 40) as u8
            };
        }
        labels.push(class);
    }
    Dataset::from_parts(images, labels).expect("valid toy dataset")
}

/// A weights file of `header` and `record` exactly as given (`record_len` and the checksum
/// included, right or wrong), framed as `weights::to_bytes` frames one.
pub fn weights_frame(header: &kindling::store::weights::WeightsHeader, record: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).expect("a header serialises");
    let mut out = b"KNDL".to_vec();
    out.extend(kindling::store::weights::FORMAT_VERSION.to_le_bytes());
    out.extend((json.len() as u32).to_le_bytes());
    out.extend(json);
    out.extend(record);
    out
}

/// A weights file whose record length and checksum fit `record`: what a crafted or damaged file
/// that passes the frame's checks looks like.
pub fn weights_file(header: &kindling::store::weights::WeightsHeader, record: &[u8]) -> Vec<u8> {
    let header = kindling::store::weights::WeightsHeader {
        record_len: record.len(),
        record_checksum: fnv1a(record),
        ..header.clone()
    };
    weights_frame(&header, record)
}

/// The weights file's checksum (FNV-1a, 64 bit).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Every float the model holds (parameters and BatchNorm's running statistics), as bits, in
/// the model's order: equal lists mean the same model bit for bit. The model must be on the
/// CPU (`flex`), which reads synchronously.
pub fn parameter_bits(model: &impl burn::module::Module) -> Vec<u32> {
    use burn::module::{ModuleVisitor, Param};
    use burn::tensor::Tensor;
    struct Bits(Vec<u32>);
    impl ModuleVisitor for Bits {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let data = param.val().into_data().convert::<f32>();
            self.0.extend(data.iter::<f32>().map(f32::to_bits));
        }
    }
    let mut bits = Bits(Vec::new());
    model.visit(&mut bits);
    bits.0
}
