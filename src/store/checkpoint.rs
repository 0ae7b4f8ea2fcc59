//! The checkpoint file: everything a run needs to go on exactly where it stopped. The command
//! line writes one after every epoch and the page keeps one in IndexedDB, in this one format;
//! [`Trainer::open`](crate::training::Trainer::open) continues it.
//!
//! Layout: `KNCK` · format version (u32 LE) · header length (u32 LE) · weights length (u64 LE)
//! · optimizer length (u64 LE) · header JSON · the weights (a complete `KNDL` weights file, f32)
//! · the optimizer's state (burn's record) · FNV-1a 64 of every byte before it (u64 LE).
//!
//! What is not stored is a pure function of what is: the order of each epoch and every
//! augmentation follow from (seed, epoch, batch), and dropout's masks from (seed, step): the
//! trainer seeds the device before each step.

use serde::{Deserialize, Serialize};

use crate::cost::ledger::Ledger;
use crate::data::Dataset;
use crate::store::weights::{fnv1a, WeightsError};
use crate::training::TrainingConfig;

const MAGIC: &[u8; 4] = b"KNCK";
/// Bumped whenever the layout, the header or a part's encoding changes.
pub const FORMAT_VERSION: u32 = 1;
const PREFIX_LEN: usize = 28;
const CHECKSUM_LEN: usize = 8;
/// No honest header is anywhere near this; a bigger length means a damaged file.
const MAX_HEADER_LEN: usize = 256 * 1024;

/// Where a run stands, and what it has spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    /// The run's settings, exactly.
    pub config: TrainingConfig,
    /// 0-based epoch and batch of the next step.
    pub epoch: usize,
    pub batch: usize,
    /// Images trained on since the run started.
    pub samples_seen: usize,
    /// Epochs the model had been trained for before the run started (the weights it started
    /// from), so its weights file can record them all.
    pub epochs_before: usize,
    /// Seconds the device has worked on the run so far.
    pub seconds: f64,
    /// FLOPs, milestones and early stopping so far.
    pub ledger: Ledger,
    /// The training set's size and a checksum of its labels: another set would be shuffled
    /// and batched differently.
    pub train_images: usize,
    pub train_labels_checksum: u64,
}

/// A checkpoint read and checked: frame, lengths and checksum. The weights and optimizer parts
/// are checked again when a trainer is built from them.
#[derive(Debug, Clone)]
pub struct Checkpoint<'a> {
    pub header: CheckpointHeader,
    /// A weights file (`weights::from_bytes` reads it).
    pub weights: &'a [u8],
    /// burn's record of the optimizer's state.
    pub optimizer: &'a [u8],
}

/// Every way a checkpoint can be refused, or fail to be written or continued.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckpointError {
    /// Does not start with `KNCK`.
    NotCheckpoint,
    UnsupportedVersion(u32),
    /// Shorter or longer than its own lengths say.
    Truncated {
        expected: usize,
        actual: usize,
    },
    /// A length in the prefix is beyond any file.
    BadLength,
    /// The bytes do not match the checksum.
    Corrupt,
    /// The header is not JSON of the expected shape.
    BadHeader(String),
    /// The weights inside were refused.
    Weights(WeightsError),
    /// The optimizer's state was refused, or could not be read back.
    Optimizer(String),
    /// The training set given is not the one the run was trained on.
    OtherData {
        expected: usize,
        given: usize,
    },
    /// As many images as the run's training set, but other labels.
    OtherLabels,
    /// Settings other than the number of epochs differ from the checkpoint's: each as
    /// (setting, the checkpoint's value, the value given).
    OtherSettings(Vec<(String, String, String)>),
    /// Fewer epochs asked for than the run has already done.
    TooFewEpochs {
        done: usize,
        asked: usize,
    },
    /// Gradient descent sums an epoch's gradient before its one update: only whole epochs.
    MidEpoch,
    /// The header could not be written so that it reads back the same.
    Unwritable(String),
}

impl std::fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotCheckpoint => {
                write!(f, "not a Kindling checkpoint (it does not start with KNCK)")
            }
            Self::UnsupportedVersion(v) => write!(
                f,
                "checkpoint format {v} is not supported (this build reads format {FORMAT_VERSION})"
            ),
            Self::Truncated { expected, actual } => write!(
                f,
                "the checkpoint is truncated or damaged: it should be {expected} bytes long, \
                 but it is {actual}"
            ),
            Self::BadLength => write!(
                f,
                "the checkpoint is damaged: a length in its first bytes is larger than any file"
            ),
            Self::Corrupt => write!(f, "the checkpoint is corrupt: its checksum does not match"),
            Self::BadHeader(e) => write!(f, "the checkpoint's header is damaged: {e}"),
            Self::Weights(e) => write!(f, "the checkpoint's weights were refused: {e}"),
            Self::Optimizer(e) => write!(f, "the checkpoint's optimizer state: {e}"),
            Self::OtherData { expected, given } => write!(
                f,
                "the checkpoint was trained on {expected} images, not on the {given} given: \
                 continue it with the same training set (the same limit)"
            ),
            Self::OtherLabels => write!(
                f,
                "the training set given is the checkpoint's size but not its images: continue \
                 it with the data it was trained on"
            ),
            Self::OtherSettings(differences) => {
                let list: Vec<String> = (differences.iter())
                    .map(|(name, was, given)| format!("{name} {was} there, {given} here"))
                    .collect();
                write!(
                    f,
                    "the checkpoint was trained with other settings ({}): continue it with its \
                     own settings (only the epochs may grow), or start a new run",
                    list.join("; ")
                )
            }
            Self::TooFewEpochs { done, asked } => write!(
                f,
                "the checkpoint has already trained {done} epochs, more than the {asked} asked \
                 for: ask for at least {done}"
            ),
            Self::MidEpoch => write!(
                f,
                "gradient descent updates once per epoch, so its run can be checkpointed only \
                 between epochs"
            ),
            Self::Unwritable(e) => write!(f, "the checkpoint could not be written: {e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

/// True when `bytes` start like a checkpoint (and not, say, like a weights file).
pub fn is_checkpoint(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The checksum of a training set's labels, which a checkpoint records.
pub fn labels_checksum(train: &Dataset) -> u64 {
    fnv1a(train.labels())
}

impl CheckpointHeader {
    /// Refuses to continue on another training set than the checkpoint's.
    pub fn check_data(&self, train: &Dataset) -> Result<(), CheckpointError> {
        if train.len() != self.train_images {
            return Err(CheckpointError::OtherData {
                expected: self.train_images,
                given: train.len(),
            });
        }
        match labels_checksum(train) == self.train_labels_checksum {
            true => Ok(()),
            false => Err(CheckpointError::OtherLabels),
        }
    }

    /// Refuses `config` unless it is the checkpoint's, the number of epochs aside (it may
    /// grow, never below the epochs done), naming each setting that differs.
    pub fn check_config(&self, config: &TrainingConfig) -> Result<(), CheckpointError> {
        if config.epochs < self.epoch {
            return Err(CheckpointError::TooFewEpochs {
                done: self.epoch,
                asked: config.epochs,
            });
        }
        let mut given = config.clone();
        given.epochs = self.config.epochs;
        if given == self.config {
            return Ok(());
        }
        let json = |c: &TrainingConfig| serde_json::to_value(c).unwrap_or_default();
        let mut differences = Vec::new();
        differ("", &json(&self.config), &json(&given), &mut differences);
        // Another network reads as its name and sizes, not as its settings' JSON.
        let (theirs, ours) = (self.config.architecture(), given.architecture());
        if theirs.network != ours.network {
            differences.retain(|(path, _, _)| !path.starts_with("network"));
            differences.insert(0, ("network".into(), theirs.describe(), ours.describe()));
        }
        if differences.is_empty() {
            // Equal as JSON but not as numbers: name the settings without values.
            differences.push(("a number".into(), "one value".into(), "another".into()));
        }
        Err(CheckpointError::OtherSettings(differences))
    }
}

/// Each leaf where `a` and `b` differ, as (dotted path, a's value, b's value).
fn differ(
    path: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<(String, String, String)>,
) {
    use serde_json::Value::Object;
    match (a, b) {
        (Object(x), Object(y)) => {
            for (key, value) in x {
                let inner = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differ(
                    &inner,
                    value,
                    y.get(key).unwrap_or(&serde_json::Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push((path.to_string(), a.to_string(), b.to_string())),
        _ => {}
    }
}

/// The checkpoint's bytes.
pub fn to_bytes(
    header: &CheckpointHeader,
    weights: &[u8],
    optimizer: &[u8],
) -> Result<Vec<u8>, CheckpointError> {
    let json =
        serde_json::to_vec(header).map_err(|e| CheckpointError::Unwritable(e.to_string()))?;
    // JSON holds no infinity and may round a float: a header that would not read back as
    // itself is refused now rather than found wrong when the run continues.
    let back: Result<CheckpointHeader, _> = serde_json::from_slice(&json);
    if back.as_ref().ok() != Some(header) {
        return Err(CheckpointError::Unwritable(
            "its header does not read back as written (a number JSON cannot hold?)".into(),
        ));
    }
    if json.len() > MAX_HEADER_LEN {
        return Err(CheckpointError::Unwritable("its header is too long".into()));
    }
    let mut out = Vec::with_capacity(
        PREFIX_LEN + json.len() + weights.len() + optimizer.len() + CHECKSUM_LEN,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
    out.extend_from_slice(&(optimizer.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(weights);
    out.extend_from_slice(optimizer);
    let checksum = fnv1a(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(out)
}

/// Reads a checkpoint, checking its frame, lengths and checksum before its header is parsed:
/// a flipped byte anywhere is reported as corruption, a cut file as truncated.
pub fn from_bytes(bytes: &[u8]) -> Result<Checkpoint<'_>, CheckpointError> {
    if !bytes.starts_with(&MAGIC[..bytes.len().min(4)]) || bytes.is_empty() {
        return Err(CheckpointError::NotCheckpoint);
    }
    if bytes.len() < PREFIX_LEN {
        return Err(CheckpointError::Truncated {
            expected: PREFIX_LEN,
            actual: bytes.len(),
        });
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let version = u32_at(4);
    if version != FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedVersion(version));
    }
    let header_len = u32_at(8) as usize;
    let length = |x: u64| usize::try_from(x).map_err(|_| CheckpointError::BadLength);
    let (weights_len, optimizer_len) = (length(u64_at(12))?, length(u64_at(20))?);
    if header_len > MAX_HEADER_LEN {
        return Err(CheckpointError::BadHeader(format!(
            "its length ({header_len} bytes) is implausible"
        )));
    }
    let expected = [header_len, weights_len, optimizer_len, CHECKSUM_LEN]
        .into_iter()
        .try_fold(PREFIX_LEN, usize::checked_add)
        .ok_or(CheckpointError::BadLength)?;
    if bytes.len() != expected {
        return Err(CheckpointError::Truncated {
            expected,
            actual: bytes.len(),
        });
    }
    let (body, checksum) = bytes.split_at(expected - CHECKSUM_LEN);
    if fnv1a(body).to_le_bytes() != checksum {
        return Err(CheckpointError::Corrupt);
    }
    let (json, rest) = body[PREFIX_LEN..].split_at(header_len);
    let (weights, optimizer) = rest.split_at(weights_len);
    let header: CheckpointHeader =
        serde_json::from_slice(json).map_err(|e| CheckpointError::BadHeader(e.to_string()))?;
    if header.batch > 0
        && header.config.optimizer.kind == crate::training::optimizer::OptimizerKind::Gd
    {
        return Err(CheckpointError::MidEpoch);
    }
    Ok(Checkpoint {
        header,
        weights,
        optimizer,
    })
}
