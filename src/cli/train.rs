//! `kindling train` and `kindling runs`: a training run from the terminal, its evaluation
//! views at the end, and the JSON-lines record that lets runs be compared.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use burn::tensor::Device;
use clap::ValueEnum;
use futures_lite::future::block_on;
use indicatif::{ProgressBar, ProgressStyle};

use kindling::data::{Normalization, Split};
use kindling::energy::{EnergySettings, PowerPreset};
use kindling::recipe::{Preset, RecipeSettings};
use kindling::runs::{self, RunFacts, RunRecord};
use kindling::training::{self, Event, Trainer, TrainingConfig};
use kindling::{card, weights};

use crate::{load_split, print_views, threads, CliResult};

/// Where `kindling train` appends its run records, and `kindling runs` reads them.
pub const RUNS_FILE: &str = "kindling-runs.jsonl";

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Folder with the four MNIST IDX files (./build.sh data fetches them).
    #[arg(long, env = "KINDLING_DATA", default_value = "data/mnist")]
    data: PathBuf,
    /// A named recipe; the other flags change it [default: seed].
    #[arg(long, value_enum, default_value_t = Preset::Seed)]
    preset: Preset,
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    recipe: RecipeSettings,
    /// Start from these weights instead of fresh ones (the same model variant).
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Train on the first N images only (a quick run).
    #[arg(long)]
    limit: Option<usize>,
    /// Evaluate on the first N test images only.
    #[arg(long)]
    test_limit: Option<usize>,
    #[arg(long, value_enum, default_value_t = Norm::Unit)]
    normalize: Norm,
    /// Where to write the trained weights.
    #[arg(long, short, default_value = "kindling.kndl")]
    out: PathBuf,
    /// Also write the final evaluation views to FILE (.json or .csv).
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
    /// The JSON-lines file this run's record is appended to.
    #[arg(long, value_name = "FILE", default_value = RUNS_FILE)]
    runs: PathBuf,
    /// Where to write the run card (JSON); it is also printed.
    #[arg(long, value_name = "FILE", default_value = "kindling-card.json")]
    card: PathBuf,
    /// Distil from this trained model's weights (--temperature, --alpha; --student for the
    /// small model).
    #[arg(long, value_name = "FILE")]
    teacher: Option<PathBuf>,
    #[command(flatten)]
    energy: EnergyArgs,
}

/// The assumptions behind the energy and CO₂e estimates.
#[derive(clap::Args)]
pub struct EnergyArgs {
    /// The device's assumed power draw, by kind.
    #[arg(long, value_enum, default_value_t = PowerPreset::DesktopCpu)]
    power: PowerPreset,
    /// The device's power draw in watts (instead of --power's).
    #[arg(long)]
    watts: Option<f64>,
    /// The grid's carbon intensity in gCO₂e/kWh [default: 436, world average 2022 (Ember)].
    #[arg(long, value_name = "G_PER_KWH")]
    grid: Option<f64>,
}

impl EnergyArgs {
    pub fn settings(&self) -> Result<EnergySettings, String> {
        let mut settings = EnergySettings::preset(self.power);
        if let Some(watts) = self.watts {
            (settings.watts, settings.power_source) = (watts, "given with --watts".into());
        }
        if let Some(grid) = self.grid {
            (settings.grid_g_per_kwh, settings.grid_source) = (grid, "given with --grid".into());
        }
        settings.validate()?;
        Ok(settings)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Norm {
    /// Pixels scaled to [0, 1].
    Unit,
    /// MNIST mean/std standardisation.
    Mnist,
}

/// The run's configuration: the preset, then the flags over it.
fn config(args: &TrainArgs) -> TrainingConfig {
    let preset = args.preset.settings().apply(TrainingConfig::new());
    let distill = args.teacher.as_ref().map(|_| args.recipe.distill());
    args.recipe
        .apply(preset)
        .with_distill(distill)
        .with_epochs(args.epochs)
        .with_batch_size(args.batch_size)
        .with_seed(args.seed)
        .with_normalization(match args.normalize {
            Norm::Unit => Normalization::UnitRange,
            Norm::Mnist => Normalization::MNIST,
        })
}

pub fn train(args: TrainArgs) -> CliResult {
    let config = config(&args);
    config.validate().map_err(|e| e.to_string())?;
    let energy = args.energy.settings()?;
    if args.limit == Some(0) {
        return Err("--limit must be at least 1".into());
    }
    let train_set = load_split(&args.data, Split::Train, args.limit)?;
    let test_set = load_split(&args.data, Split::Test, args.test_limit)?;
    let images = train_set.len();
    let device = Device::flex();
    let mut trainer = match &args.from {
        None => Trainer::new(config.clone(), train_set, &device).map_err(|e| e.to_string())?,
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let (model, _) = weights::from_bytes_for(&bytes, &config.model, &device)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Trainer::resume(config.clone(), train_set, &device, model)
        }
    };
    if let Some(path) = &args.teacher {
        let (teacher, header) =
            weights::load(path, &device).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("teacher: {} ({})", path.display(), header.model.describe());
        trainer = trainer
            .with_teacher(teacher, &header.model)
            .map_err(|e| e.to_string())?;
    }
    println!("recipe: {}", runs::summary(&config));
    println!("energy assumed: {}", energy.assumptions());

    let steps = trainer.steps_per_epoch() * config.epochs;
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} steps · {msg} · ETA {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut smoothed = None::<f32>;
    let clock = || started.elapsed().as_secs_f64();
    let evaluation = block_on(training::run(&mut trainer, &test_set, clock, |event| match event {
        Event::Step(report) => {
            let loss = smoothed.map_or(report.loss, |s| 0.95 * s + 0.05 * report.loss);
            smoothed = Some(loss);
            bar.set_prefix(format!("{}/{}", report.epoch, config.epochs));
            bar.set_message(format!("loss {loss:.4}"));
            bar.inc(1);
        }
        // Printed above the bar, and also when the output is not a terminal (CI, logs).
        Event::Evaluated {
            epochs,
            evaluation,
            stop,
        } => bar.suspend(|| {
            let epoch = format!("{:>2}", card::epochs(epochs));
            println!(
                "epoch {epoch}: train loss {:.4} · test loss {:.4} · test accuracy {:.2}% · {:.0} s",
                smoothed.unwrap_or(f32::NAN),
                evaluation.loss,
                100.0 * evaluation.accuracy,
                started.elapsed().as_secs_f64()
            );
            if let Some(reason) = stop {
                println!("stopping early: {reason}");
            }
        }),
    }))
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let epochs = trainer.epochs_done();
    let header = weights::WeightsHeader::new(
        config.model.clone(),
        config.normalization,
        "mnist",
        epochs,
        Some(evaluation.accuracy),
    );
    let weights_file = weights::to_bytes(&trainer.model(), &header).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, &weights_file).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!("weights saved to {}", args.out.display());
    print_views(&evaluation, test_set.labels(), args.export.as_deref())?;

    let facts = RunFacts {
        finished_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        device: format!("flex, {} threads", threads()),
        images,
        epochs,
        test_accuracy: evaluation.accuracy,
        test_loss: evaluation.loss,
        seconds,
        cost: Some(trainer.cost(seconds, &energy)),
        data_bytes: dataset_bytes(&args.data),
        model_bytes: Some(weights_file.len() as u64),
    };
    let record = RunRecord::new(&config, facts);
    print!("\n{}", card::text(&record));
    std::fs::write(
        &args.card,
        serde_json::to_string_pretty(&record).expect("plain data"),
    )
    .map_err(|e| format!("{}: {e}", args.card.display()))?;
    println!("run card saved to {}", args.card.display());
    append_record(&args.runs, &record)
}

/// The bytes of the dataset files the run read.
fn dataset_bytes(dir: &Path) -> Option<u64> {
    let files = [Split::Train, Split::Test].map(|split| split.file_names());
    let sizes = files
        .iter()
        .flat_map(|(images, labels)| [images, labels])
        .map(|name| std::fs::metadata(dir.join(name)).map(|m| m.len()));
    sizes.sum::<Result<u64, _>>().ok()
}

/// Adds one line to the runs file, creating it if needed.
fn append_record(path: &Path, record: &RunRecord) -> CliResult {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(record.to_line().as_bytes()).map_err(fail)?;
    println!(
        "run recorded in {} (kindling runs compares them)",
        path.display()
    );
    Ok(())
}

/// `kindling runs`: the recorded runs side by side.
pub fn list_runs(path: &Path) -> CliResult {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let records = runs::parse_lines(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    print!("{}", runs::table(&records));
    Ok(())
}
