//! `kindling compare`: weights files side by side on what they cost to ship and run and what
//! they give: parameters, FLOPs, file size raw and gzipped, test accuracy, and the latency of
//! one prediction. It is how int8 and distilled models are judged against the full one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::tensor::Device;
use futures_lite::future::block_on;

use kindling::cost::{self, card};
use kindling::data::Split;
use kindling::model::inference;
use kindling::store::weights;
use kindling::training;

use crate::{load_split, CliResult};

/// Single-image predictions timed per model; the median is reported.
const LATENCY_SAMPLES: usize = 200;

/// Bytes of `bytes` gzipped at the default level, as a web server would send them.
pub fn gzipped_len(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory").len()
}

pub fn compare(files: &[PathBuf], data: &Path) -> CliResult {
    let device = Device::flex();
    let test = load_split(data, Split::Test, None)?;
    println!(
        "{:<28} {:<28} {:>8} {:>10} {:>9} {:>9} {:>9} {:>10} {:>8}",
        "weights",
        "model",
        "params",
        "fwd MFLOP",
        "size",
        "gzipped",
        "accuracy",
        "Δ points",
        "latency"
    );
    let mut first_accuracy = None;
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let (model, header) =
            weights::from_bytes(&bytes, &device).map_err(|e| format!("{}: {e}", path.display()))?;
        if !model.kind().classifies() {
            return Err(format!(
                "{}: compare ranks classifiers by test accuracy, and this file holds {} \
                 (kindling eval gives its reconstruction error)",
                path.display(),
                model.kind().describe()
            ));
        }
        let evaluation = block_on(training::evaluate(
            &model,
            &test,
            header.normalization,
            &device,
        ))
        .map_err(|e| e.to_string())?;
        let accuracy = 100.0 * evaluation.accuracy.unwrap_or_default();
        let delta = accuracy - *first_accuracy.get_or_insert(accuracy);
        let mut latencies: Vec<f64> = (0..LATENCY_SAMPLES)
            .map(|i| {
                let image = test.image(i % test.len()).try_into().expect("28×28");
                let started = Instant::now();
                block_on(inference::predict(
                    &model,
                    image,
                    header.normalization,
                    &device,
                ))
                .map(|_| started.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<Result<_, _>>()?;
        latencies.sort_by(f64::total_cmp);
        println!(
            "{:<28} {:<28} {:>8} {:>10.3} {:>9} {:>9} {:>8.2}% {:>+10.2} {:>6.2}ms",
            path.file_name()
                .map_or(path.display().to_string(), |n| n.to_string_lossy().into()),
            format!(
                "{}, {:?}",
                header.architecture().describe(),
                header.precision
            ),
            cost::params(&header.architecture()),
            cost::forward_flops(&header.architecture()) / 1e6,
            card::bytes(bytes.len() as u64),
            card::bytes(gzipped_len(&bytes) as u64),
            accuracy,
            delta,
            latencies[LATENCY_SAMPLES / 2]
        );
    }
    Ok(())
}
