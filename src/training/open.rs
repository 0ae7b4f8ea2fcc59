//! Opening a run (fresh, from a weights file, or exactly where a checkpoint stopped) and
//! writing its checkpoint: the one way in for the command line and the page alike.

use burn::module::Module;
use burn::optim::GradientsAccumulator;
use burn::tensor::Device;

use super::{TrainError, Trainer, TrainingConfig};
use crate::cost::ledger::Ledger;
use crate::data::{self, Dataset};
use crate::store::checkpoint::{self, Checkpoint, CheckpointError, CheckpointHeader};
use crate::store::optimizer_state;
use crate::store::weights::{self, WeightsHeader};

/// Where a run starts.
// Made once per run and moved straight into `Trainer::open`: boxing the checkpoint would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Start<'a> {
    /// Fresh weights, drawn from the run's seed.
    Fresh,
    /// The weights in a weights file (of the run's model variant), with a fresh optimizer, at
    /// the first epoch of the shuffle and the schedule: a new run on a trained model. The
    /// weights it writes record the file's epochs and its own.
    Weights(&'a [u8]),
    /// Exactly where a checkpoint stopped: weights, optimizer state, position in the schedule
    /// and the shuffle, dropout's stream, the ledger. The run's settings must be the
    /// checkpoint's (`Checkpoint::header`), but for its epochs, which may grow; the training
    /// set must be the checkpoint's. Continuing is exact: k epochs, a checkpoint, then the rest
    /// give the weights the whole run gives in one go, bit for bit on the same device and
    /// number of threads.
    Checkpoint(Checkpoint<'a>),
}

impl Trainer {
    /// Opens a run of `config` on `train`, on `device` (autodiff is added here), from `start`.
    /// A distillation run is given its teacher afterwards ([`Trainer::with_teacher`]), again
    /// when it continues.
    pub fn open(
        config: TrainingConfig,
        train: Dataset,
        device: &Device,
        start: Start,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        (config.compute)
            .check_device(device)
            .map_err(TrainError::Config)?;
        if train.is_empty() {
            return Err(TrainError::EmptyData);
        }
        let refused = |e| TrainError::Checkpoint(CheckpointError::Weights(e));
        let (model, epochs_before) = match &start {
            // Built on the plain device and moved to autodiff below, as loaded weights are: its
            // parameters are initialised (and numbered) here, not on first use.
            Start::Fresh => {
                device.seed(config.seed);
                (config.architecture().init(device), 0)
            }
            Start::Weights(bytes) => {
                let (model, header) =
                    weights::from_bytes_for(bytes, &config.architecture(), device)
                        .map_err(TrainError::Weights)?;
                (model, header.epochs)
            }
            Start::Checkpoint(checkpoint) => {
                let header = &checkpoint.header;
                header
                    .check_config(&config)
                    .map_err(TrainError::Checkpoint)?;
                header.check_data(&train).map_err(TrainError::Checkpoint)?;
                // Loaded through burn's record, the parameters keep the ids the optimizer's
                // state is keyed by.
                let (model, _) =
                    weights::from_bytes_for(checkpoint.weights, &config.architecture(), device)
                        .map_err(refused)?;
                (model, header.epochs_before)
            }
        };
        let device = device.clone().autodiff();
        let mut trainer = Trainer {
            ledger: Ledger::new(&config.architecture(), config.epochs, &config.early_stop),
            teacher: None,
            optimizer: config.optimizer.init(),
            accumulated: GradientsAccumulator::new(),
            model: model.to_device(&device).train(),
            previous: None,
            health_every: None,
            health: None,
            order: data::epoch_order(train.len(), config.seed, 0),
            config,
            device,
            train,
            epoch: 0,
            batch: 0,
            samples_seen: 0,
            pixels: Vec::new(),
            labels: Vec::new(),
            epochs_before,
            seconds_before: 0.0,
        };
        if let Start::Checkpoint(checkpoint) = start {
            let header = checkpoint.header;
            trainer.optimizer = optimizer_state::load(trainer.optimizer, checkpoint.optimizer)
                .map_err(|e| TrainError::Checkpoint(CheckpointError::Optimizer(e)))?;
            (trainer.epoch, trainer.batch) = (header.epoch, header.batch);
            trainer.samples_seen = header.samples_seen;
            trainer.seconds_before = header.seconds;
            trainer.ledger = header.ledger;
            trainer.ledger.set_epochs(trainer.config.epochs);
            let (len, seed) = (trainer.train.len(), trainer.config.seed);
            trainer.order = data::epoch_order(len, seed, trainer.epoch);
        }
        Ok(trainer)
    }

    /// The run as a checkpoint, `seconds` after it was opened (the clock given to
    /// [`Trainer::evaluated`] and [`Trainer::cost`]). Taken between steps; asynchronous because
    /// WebGPU reads back asynchronously. Gradient descent, which sums a whole epoch's gradient
    /// before its one update, is checkpointed only between epochs: mid-epoch it is refused.
    pub async fn checkpoint(&self, seconds: f64) -> Result<Vec<u8>, TrainError> {
        let failed = TrainError::Checkpoint;
        if self.config.full_batch() && self.batch > 0 {
            return Err(failed(CheckpointError::MidEpoch));
        }
        let config = &self.config;
        let about = WeightsHeader::new(
            config.architecture(),
            config.normalization,
            "mnist",
            self.model_epochs(),
            None,
        );
        let weights = (weights::to_bytes_async(&self.model(), &about).await)
            .map_err(|e| failed(CheckpointError::Weights(e)))?;
        let plain = self.device.clone().without_autodiff();
        let optimizer = (optimizer_state::to_bytes(&self.optimizer, &plain).await)
            .map_err(|e| failed(CheckpointError::Optimizer(e)))?;
        let header = CheckpointHeader {
            config: config.clone(),
            epoch: self.epoch,
            batch: self.batch,
            samples_seen: self.samples_seen,
            epochs_before: self.epochs_before,
            seconds: self.seconds_before + seconds,
            ledger: self.ledger.clone(),
            train_images: self.train.len(),
            train_labels_checksum: checkpoint::labels_checksum(&self.train),
        };
        checkpoint::to_bytes(&header, &weights, &optimizer).map_err(failed)
    }
}
