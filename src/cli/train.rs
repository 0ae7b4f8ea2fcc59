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

use kindling::cost::card;
use kindling::cost::energy::{EnergySettings, PowerPreset};
use kindling::cost::runs::{self, RunFacts, RunRecord};
use kindling::data::{Normalization, Split};
use kindling::inspect::health::{Health, HEALTH_EVERY};
use kindling::store::{checkpoint, weights};
use kindling::training::recipe::{Preset, RunSettings};
use kindling::training::settings::{parser, GRID, TEST_LIMIT, WATTS};
use kindling::training::{self, Event, Start, Trainer, TrainingConfig};

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
    /// Epochs, batch size, seed, training images and the recipe (`kindling::training::settings`).
    #[command(flatten)]
    run: RunSettings,
    /// Start a new run from these weights (the same model variant) instead of fresh ones, with
    /// a fresh optimizer; --resume continues a checkpointed run instead.
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Continue the run in this checkpoint exactly where it stopped, with its settings
    /// (--epochs may extend it), optimizer state, shuffle and schedule.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "preset", "normalize"])]
    resume: Option<PathBuf>,
    /// Where the run is checkpointed after every epoch (--resume FILE continues it).
    #[arg(long, value_name = "FILE", default_value = "kindling.ckpt")]
    checkpoint: PathBuf,
    #[arg(long = TEST_LIMIT.flag, value_parser = parser::<usize>(TEST_LIMIT), help = TEST_LIMIT.help_line())]
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
    /// Write the training's health to FILE as CSV: per layer, every 10 steps, the gradient
    /// norm and the update-to-weight ratio (warnings are printed as they occur).
    #[arg(long, value_name = "FILE")]
    health: Option<PathBuf>,
    /// Check the settings and print the recipe, without training.
    #[arg(long)]
    check: bool,
}

/// The assumptions behind the energy and CO₂e estimates.
#[derive(clap::Args)]
pub struct EnergyArgs {
    /// The device's assumed power draw, by kind.
    #[arg(long, value_enum, default_value_t = PowerPreset::DesktopCpu)]
    power: PowerPreset,
    #[arg(long = WATTS.flag, value_parser = parser::<f64>(WATTS), help = WATTS.help_line())]
    watts: Option<f64>,
    #[arg(long = GRID.flag, value_parser = parser::<f64>(GRID), help = GRID.help_line())]
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
    let distill = args.teacher.as_ref().map(|_| args.run.recipe.distill());
    (args.run.apply(preset))
        .with_distill(distill)
        .with_normalization(match args.normalize {
            Norm::Unit => Normalization::UnitRange,
            Norm::Mnist => Normalization::MNIST,
        })
}

pub fn train(args: TrainArgs) -> CliResult {
    let read = |path: &PathBuf| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let resumed = args.resume.as_ref().map(read).transpose()?;
    let from = args.from.as_ref().map(read).transpose()?;
    // The file a refusal names: the checkpoint or the weights the run starts from.
    let named = |e: String| match args.resume.as_ref().or(args.from.as_ref()) {
        Some(path) => format!("{}: {e}", path.display()),
        None => e,
    };
    let checkpoint = (resumed.as_deref())
        .map(checkpoint::from_bytes)
        .transpose()
        .map_err(|e| named(e.to_string()))?;
    // Continuing, the checkpoint's settings, with the flags given over them (only a longer
    // run is accepted): the same training images, unless --limit says otherwise.
    let (config, limit) = match &checkpoint {
        Some(c) => (
            args.run.apply(c.header.config.clone()),
            args.run.limit.or(Some(c.header.train_images)),
        ),
        None => (config(&args), args.run.limit),
    };
    if config.distill.is_some() && args.teacher.is_none() {
        return Err(
            "this checkpoint's run distils from a teacher: give it again with --teacher".into(),
        );
    }
    args.run.validate(&config)?;
    let energy = args.energy.settings()?;
    if args.check {
        println!("recipe: {}", runs::summary(&config));
        println!("energy assumed: {}", energy.assumptions());
        return Ok(());
    }
    let train_set = load_split(&args.data, Split::Train, limit)?;
    let test_set = load_split(&args.data, Split::Test, args.test_limit)?;
    let images = train_set.len();
    let device = Device::flex();
    let start = match (checkpoint, &from) {
        (Some(checkpoint), _) => Start::Checkpoint(checkpoint),
        (None, Some(bytes)) => Start::Weights(bytes),
        (None, None) => Start::Fresh,
    };
    let mut trainer = Trainer::open(config.clone(), train_set, &device, start)
        .map_err(|e| named(e.to_string()))?;
    if trainer.finished() {
        let done = trainer.epochs_done();
        return Err(format!(
            "the checkpoint's run is complete ({done} epochs): --epochs with more than {done} \
             trains it further"
        ));
    }
    if let Some(path) = &args.teacher {
        let failed = |e: weights::WeightsError| format!("{}: {e}", path.display());
        let (teacher, header) = weights::load(path, &device).map_err(failed)?;
        let teacher = weights::into_cnn(teacher).map_err(failed)?;
        println!("teacher: {} ({})", path.display(), header.model.describe());
        trainer = trainer
            .with_teacher(teacher, &header.model)
            .map_err(|e| e.to_string())?;
    }
    println!("recipe: {}", runs::summary(&config));
    println!("energy assumed: {}", energy.assumptions());
    let mut health = match &args.health {
        Some(path) => {
            trainer.watch_health(Some(HEALTH_EVERY));
            Some(HealthLog::create(path)?)
        }
        None => None,
    };

    let steps = trainer.steps_per_epoch() * config.epochs;
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} steps · {msg} · ETA {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_position(trainer.steps_done() as u64);
    let started = Instant::now();
    let mut smoothed = None::<f32>;
    let mut epoch_end = false;
    let clock = || started.elapsed().as_secs_f64();
    let evaluation = block_on(training::run(
        &mut trainer,
        &test_set,
        clock,
        |trainer, event| match event {
            Event::Step(report) => {
                epoch_end = report.epoch_done;
                let loss = smoothed.map_or(report.loss, |s| 0.95 * s + 0.05 * report.loss);
                smoothed = Some(loss);
                bar.set_prefix(format!("{}/{}", report.epoch, config.epochs));
                bar.set_message(format!("loss {loss:.4}"));
                bar.inc(1);
                if let (Some(log), Some(measured)) = (&mut health, trainer.health()) {
                    let said = log.write(report.epoch, measured);
                    bar.suspend(|| said.iter().for_each(|line| println!("{line}")));
                }
            }
            // Printed above the bar, and also when the output is not a terminal (CI, logs).
            Event::Evaluated {
                epochs,
                evaluation,
                stop,
            } => bar.suspend(|| {
                let epoch = format!("{:>2}", card::epochs(epochs));
                println!(
                    "epoch {epoch}: train loss {:.4} · {} · {:.0} s",
                    smoothed.unwrap_or(f32::NAN),
                    runs::result_text(evaluation.accuracy, evaluation.loss),
                    started.elapsed().as_secs_f64()
                );
                if let Some(reason) = stop {
                    println!("stopping early: {reason}");
                }
                // After the epoch's evaluation, so the checkpoint's ledger has it.
                if epoch_end {
                    if let Err(e) = save_checkpoint(trainer, &args.checkpoint, clock()) {
                        println!("the checkpoint was not saved: {e}");
                    }
                }
            }),
        },
    ))
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    if let (Some(log), Some(path)) = (health, &args.health) {
        log.finish()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        println!("training health written to {}", path.display());
    }
    let epochs = trainer.epochs_done();
    let cost = trainer.cost(started.elapsed().as_secs_f64(), &energy);
    // A continued run's time includes the sessions before its checkpoint.
    let seconds = cost.seconds;
    let header = weights::WeightsHeader::new(
        config.architecture(),
        config.normalization,
        "mnist",
        trainer.model_epochs(),
        evaluation.accuracy,
    );
    let weights_file = weights::to_bytes(&trainer.model(), &header).map_err(|e| e.to_string())?;
    std::fs::write(&args.out, &weights_file).map_err(|e| format!("{}: {e}", args.out.display()))?;
    println!("weights saved to {}", args.out.display());
    println!(
        "checkpoint saved to {} (--resume {0} continues it; with --epochs, further)",
        args.checkpoint.display()
    );
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
        cost: Some(cost),
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

/// `--health`'s CSV file: one row per layer per measured step.
struct HealthLog {
    out: std::io::BufWriter<std::fs::File>,
    /// The kinds of warning printed last, so a lasting condition is said once, not every 10
    /// steps.
    said: Vec<String>,
    error: Option<std::io::Error>,
}

impl HealthLog {
    fn create(path: &Path) -> Result<Self, String> {
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut out = std::io::BufWriter::new(file);
        writeln!(
            out,
            "step,epoch,layer,gradient_norm,weight_norm,update_ratio,global_gradient_norm,clipped"
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(HealthLog {
            out,
            said: Vec::new(),
            error: None,
        })
    }

    /// Writes a measured step; returns the warnings not said at the last measurement.
    fn write(&mut self, epoch: usize, health: &Health) -> Vec<String> {
        for l in &health.layers {
            let row = writeln!(
                self.out,
                "{},{epoch},{},{:e},{:e},{:e},{:e},{}",
                health.step,
                l.layer,
                l.gradient_norm,
                l.weight_norm,
                l.update_ratio,
                health.gradient_norm,
                health.clipped
            );
            if let Err(e) = row {
                self.error.get_or_insert(e);
            }
        }
        // A warning's kind and layer, without its numbers.
        let kind = |w: &String| {
            w.chars()
                .filter(|c| !c.is_ascii_digit())
                .collect::<String>()
        };
        let new = (health.warnings.iter())
            .filter(|w| !self.said.contains(&kind(w)))
            .map(|w| format!("step {}: {w}", health.step))
            .collect();
        self.said = health.warnings.iter().map(kind).collect();
        new
    }

    fn finish(mut self) -> std::io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.out.flush(),
        }
    }
}

/// Writes the run's checkpoint to `path`, through a temporary file renamed into place, so an
/// interrupted write (Ctrl-C) leaves the previous checkpoint whole.
fn save_checkpoint(trainer: &Trainer, path: &Path, seconds: f64) -> Result<(), String> {
    let bytes = block_on(trainer.checkpoint(seconds)).map_err(|e| e.to_string())?;
    let failed = |e: std::io::Error| format!("{}: {e}", path.display());
    // A device or a pipe (`--checkpoint /dev/null`) is written to, never replaced by a file.
    if path.exists() && !path.is_file() {
        return std::fs::write(path, bytes).map_err(failed);
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(failed)?;
    std::fs::rename(&partial, path).map_err(failed)
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
