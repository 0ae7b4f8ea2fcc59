//! `kindling`: train, evaluate and query MNIST networks (the CNN, the RNN, the autoencoder) from a
//! terminal, on the CPU (`flex`).

mod compare;
mod explain;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::Device;
use clap::{Parser, Subcommand};
use futures_lite::future::block_on;

use kindling::cost;
use kindling::data::{Dataset, Split};
use kindling::model::inference::{self, Prediction};
use kindling::model::ModelConfig;
use kindling::nets::{Architecture, Cell, Network, NetworkConfig, NetworkKind};
use kindling::store::weights;
use kindling::training::metrics::Report;
use kindling::training::{self, Evaluation};

use train::{TrainArgs, RUNS_FILE};

/// Mistakes `kindling eval` and `kindling train` list, most confident first.
const MISTAKES_SHOWN: usize = 10;

/// The weights trained with `kindling train` (seed recipe, 10 epochs), used when no --model is given.
const PRETRAINED: &[u8] = include_bytes!("../../weights/mnist-cnn.kndl");

#[derive(Parser)]
#[command(
    name = "kindling",
    version,
    about = "Train MNIST networks (the classic CNN, an RNN, an autoencoder) and see what they cost"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: a large `Train` variant costs nothing worth a `Box`.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Train a network on MNIST (the CNN by default; --network rnn or autoencoder), save its
    /// weights and record the run.
    Train(TrainArgs),
    /// The recorded runs side by side: recipe, test accuracy, time.
    Runs {
        #[arg(long, value_name = "FILE", default_value = RUNS_FILE)]
        file: PathBuf,
    },
    /// Test accuracy of a classifier's weights file: overall, per class, the confusion matrix
    /// and the most confident mistakes; an autoencoder's reconstruction error.
    Eval {
        /// Weights file (default: the shipped pretrained weights).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Also write the views to FILE: JSON (.json) or the confusion matrix as CSV (.csv).
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        #[arg(long, env = "KINDLING_DATA", default_value = "data/mnist")]
        data: PathBuf,
    },
    /// Classify pictures of digits (PNG or JPEG, any size, light or dark background).
    Predict {
        /// Weights file (default: the shipped pretrained weights).
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// What the network makes of pictures of digits: per picture, a PNG sheet (the input,
    /// SmoothGrad and occlusion maps over it, every layer's output, the probabilities) and a
    /// JSON file of the numbers.
    Explain {
        /// Weights file (default: the shipped pretrained weights).
        #[arg(long)]
        model: Option<PathBuf>,
        /// The digit the maps explain (default: the model's answer).
        #[arg(long)]
        class: Option<usize>,
        /// The folder the sheets and JSON files are written to.
        #[arg(long, default_value = "explained")]
        out: PathBuf,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Weights files side by side: parameters, FLOPs, size raw and gzipped, test accuracy
    /// (and its difference from the first file), latency of one prediction.
    Compare {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, env = "KINDLING_DATA", default_value = "data/mnist")]
        data: PathBuf,
    },
    /// Re-save a weights file in another number format (f16 halves it, int8 quarters it).
    Convert {
        input: PathBuf,
        output: PathBuf,
        #[arg(long, value_enum)]
        precision: weights::Precision,
    },
    /// The layers, their output shapes, parameters and FLOPs per image.
    Info {
        /// The network [default: cnn].
        #[arg(long, value_enum, default_value_t = NetworkKind::Cnn)]
        network: NetworkKind,
        /// The CNN's BatchNorm variant.
        #[arg(long)]
        batch_norm: bool,
        /// The small student CNN (conv 8/16, dense 16).
        #[arg(long)]
        student: bool,
        /// The RNN's cell [default: lstm].
        #[arg(long, value_enum)]
        cell: Option<Cell>,
    },
    /// Time training steps and inference on the full training set.
    Bench {
        #[arg(long, env = "KINDLING_DATA", default_value = "data/mnist")]
        data: PathBuf,
        /// Measured steps, after the warm-up.
        #[arg(long, default_value_t = 100)]
        steps: usize,
        #[arg(long, default_value_t = 10)]
        warmup: usize,
    },
}

fn main() -> ExitCode {
    keep_freed_memory();
    let result = match Cli::parse().command {
        Command::Train(args) => train::train(args),
        Command::Runs { file } => train::list_runs(&file),
        Command::Eval {
            model,
            export,
            data,
        } => eval(model.as_deref(), export.as_deref(), &data),
        Command::Predict { model, images } => predict(model.as_deref(), &images),
        Command::Explain {
            model,
            class,
            out,
            images,
        } => explain::explain(model.as_deref(), &images, class, &out),
        Command::Convert {
            input,
            output,
            precision,
        } => convert(&input, &output, precision),
        Command::Info {
            network,
            batch_norm,
            student,
            cell,
        } => {
            let model = if student {
                ModelConfig::student()
            } else {
                ModelConfig::new()
            };
            let mut network = NetworkConfig::of(network);
            if let (NetworkConfig::Rnn(rnn), Some(cell)) = (&mut network, cell) {
                rnn.cell = cell;
            }
            info(&Architecture {
                network,
                cnn: model.with_batch_norm(batch_norm),
            });
            Ok(())
        }
        Command::Compare { files, data } => compare::compare(&files, &data),
        Command::Bench {
            data,
            steps,
            warmup,
        } => bench(&data, steps, warmup),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), String>;

pub(crate) fn load_split(
    dir: &Path,
    split: Split,
    limit: Option<usize>,
) -> Result<Dataset, String> {
    let set = Dataset::load(dir, split).map_err(|e| e.to_string())?;
    Ok(match limit {
        Some(n) => set.limit(n),
        None => set,
    })
}

/// The weights file given, or the pretrained one shipped in the binary.
fn load_model(
    path: Option<&Path>,
    device: &Device,
) -> Result<(Network, weights::WeightsHeader), String> {
    let result = match path {
        Some(path) => weights::load(path, device),
        None => weights::from_bytes(PRETRAINED, device),
    };
    result.map_err(|e| match path {
        Some(path) => format!("{}: {e}", path.display()),
        None => format!("the shipped weights: {e}"),
    })
}

fn convert(input: &Path, output: &Path, precision: weights::Precision) -> CliResult {
    let (model, header) = weights::load(input, &Device::flex()).map_err(|e| e.to_string())?;
    let header = weights::WeightsHeader {
        precision,
        ..header
    };
    weights::save(output, &model, &header).map_err(|e| e.to_string())?;
    let size = |path: &Path| {
        let bytes = std::fs::read(path).unwrap_or_default();
        let gzipped = compare::gzipped_len(&bytes);
        format!("{} bytes, {gzipped} gzipped", bytes.len())
    };
    println!(
        "{} ({}) → {} ({}, {precision:?})\nkindling compare shows what it costs in accuracy",
        input.display(),
        size(input),
        output.display(),
        size(output)
    );
    Ok(())
}

fn eval(model_path: Option<&Path>, export: Option<&Path>, data: &Path) -> CliResult {
    let device = Device::flex();
    let (model, header) = load_model(model_path, &device)?;
    let test_set = load_split(data, Split::Test, None)?;
    let started = Instant::now();
    let eval = block_on(training::evaluate(
        &model,
        &test_set,
        header.normalization,
        &device,
    ))
    .map_err(|e| e.to_string())?;
    println!(
        "{}: {} · {} test images · {:.1} s",
        header.architecture().describe(),
        cost::runs::result_text(eval.accuracy, eval.loss),
        test_set.len(),
        started.elapsed().as_secs_f64()
    );
    print_views(&eval, test_set.labels(), export)
}

/// The evaluation views: confusion matrix, per-class accuracy, the most confident mistakes;
/// also written to `export` (.json or .csv) when given.
pub(crate) fn print_views(eval: &Evaluation, labels: &[u8], export: Option<&Path>) -> CliResult {
    let Some(report) = Report::new(eval, labels, MISTAKES_SHOWN) else {
        return match export {
            Some(path) => Err(format!(
                "{}: an autoencoder has no confusion matrix or mistakes to export",
                path.display()
            )),
            None => Ok(()),
        };
    };
    print!("{}", report.confusion_table());
    println!("most confident mistakes (test index: label → predicted, probability):");
    for m in &report.most_confident_mistakes {
        println!(
            "  #{:<5} {} → {}  {:.3}",
            m.index, m.label, m.predicted, m.confidence
        );
    }
    if let Some(path) = export {
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("csv") => report.confusion_csv(),
            Some("json") => serde_json::to_string_pretty(&report).expect("plain data") + "\n",
            _ => return Err(format!("{}: --export writes .json or .csv", path.display())),
        };
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("written to {}", path.display());
    }
    Ok(())
}

fn predict(model_path: Option<&Path>, images: &[PathBuf]) -> CliResult {
    let device = Device::flex();
    let (model, header) = load_model(model_path, &device)?;
    let mut failed = false;
    for path in images {
        match inference::read_picture(path) {
            Err(message) => {
                eprintln!("{}: {message}", path.display());
                failed = true;
            }
            Ok(input) => {
                let Prediction {
                    class,
                    probabilities,
                } = block_on(inference::predict(
                    &model,
                    &input,
                    header.normalization,
                    &device,
                ))
                .map_err(|e| match model_path {
                    Some(file) => format!("{}: {e}", file.display()),
                    None => e,
                })?;
                let probs: Vec<String> = probabilities.iter().map(|p| format!("{p:.3}")).collect();
                println!(
                    "{}: {class} (p = {:.3})  [{}]",
                    path.display(),
                    probabilities[class as usize],
                    probs.join(" ")
                );
            }
        }
    }
    if failed {
        Err("some pictures could not be read".into())
    } else {
        Ok(())
    }
}

fn info(config: &Architecture) {
    println!("{}, per image:", config.describe());
    println!("{:<30} {:>14}", "layer", "output");
    for (name, shape) in config.layer_shapes() {
        let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        println!("{name:<30} {:>14}", shape.join("×"));
    }
    println!(
        "\n{:<18} {:>10} {:>16} {:>17}",
        "layer", "params", "forward MFLOP", "backward MFLOP"
    );
    let mflop = |macs: usize| 2.0 * macs as f64 / 1e6;
    let layers = config.layer_costs();
    for layer in &layers {
        println!(
            "{:<18} {:>10} {:>16.3} {:>17.3}",
            layer.name,
            layer.params,
            mflop(layer.macs),
            mflop(layer.backward_macs)
        );
    }
    let (forward, train) = (cost::forward_flops(config), cost::train_flops(config));
    println!(
        "{:<18} {:>10} {:>16.3} {:>17.3}\n\ntraining: {:.2} MFLOP per image, {:.3} TFLOP per 60,000-image epoch (+ {:.3} TFLOP to evaluate 10,000 test images)",
        "total",
        cost::params(config),
        forward / 1e6,
        (train - forward) / 1e6,
        train / 1e6,
        train * 60_000.0 / 1e12,
        forward * 10_000.0 / 1e12
    );
}

fn bench(data: &Path, steps: usize, warmup: usize) -> CliResult {
    let train_set = load_split(data, Split::Train, None)?;
    let test_set = load_split(data, Split::Test, None)?;
    let images = train_set.len();
    let augmentation = kindling::bench::augmentation_profile(&train_set);
    let best_step = kindling::bench::best_preset_step(train_set.clone(), steps.min(30))
        .map_err(|e| e.to_string())?;
    let report =
        kindling::bench::measure(train_set, &test_set, steps, warmup).map_err(|e| e.to_string())?;
    println!(
        "native flex on {} threads, seed model, batch {}:",
        threads(),
        report.batch_size
    );
    println!(
        "  training step       {:.4} s · {:.0} samples/s · {:.1} GFLOP/s",
        report.seconds_per_step,
        report.samples_per_second(),
        report.gflops()
    );
    println!(
        "  test evaluation     {:.2} s for {} images",
        report.eval_seconds,
        test_set.len()
    );
    println!(
        "  epoch               {:.1} s ({images} images + evaluation; the seed's Keras program: ≈ 8 s here)",
        report.seconds_per_epoch()
    );
    println!("  inference, 1 image  {:.2} ms", report.inference_ms);
    println!(
        "  best preset's step  {best_step:.4} s (BatchNorm + augmentation; the seed's: {:.4} s)",
        report.seconds_per_step
    );
    println!("\naugmenting a batch of 128 (before each step, on the CPU):");
    for (name, ms) in augmentation {
        println!(
            "  {name:<32} {ms:>6.2} ms ({:.1}% of a seed step)",
            100.0 * ms / 1e3 / report.seconds_per_step
        );
    }
    println!(
        "\nwhere a step goes (batch 128, ms):\n  {:<36} {:>8} {:>18}",
        "operation", "forward", "forward+backward"
    );
    for (name, forward, both) in kindling::bench::layer_profile() {
        println!("  {name:<36} {forward:>8.1} {both:>18.1}");
    }
    Ok(())
}

/// A training step allocates and frees the same few large buffers (up to ~20 MB) every time.
/// glibc hands blocks that large back to the OS on free, so every step faulted their pages in
/// again: measured, the evaluation took 4.2 s instead of 2.0 s and a step ~10% longer.
/// Keeping them in the heap makes the second step reuse the first one's memory.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
