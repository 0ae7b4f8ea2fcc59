//! The weights file: a small JSON header (what model, trained on what, how well) and burn's
//! record bytes, guarded by a checksum. Loading never touches the model in use: it builds a new
//! one, so a damaged or foreign file is refused and the current model stays as it was.
//!
//! Layout: `KNDL` · format version (u32 LE) · header length (u32 LE) · header JSON · record.

use std::collections::HashMap;
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::cost;
use crate::data::Normalization;
use crate::model::{Model, ModelConfig};
use crate::nets::{Architecture, Network, NetworkConfig, NetworkKind};
use crate::store::quantize;

const MAGIC: &[u8; 4] = b"KNDL";
/// Bumped whenever the layout or the record encoding changes.
pub const FORMAT_VERSION: u32 = 1;
const PREFIX_LEN: usize = 12;
/// No honest header is anywhere near this; a bigger length means a damaged file.
const MAX_HEADER_LEN: usize = 64 * 1024;

/// What the weights are: enough to rebuild the model and to tell the user where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsHeader {
    /// The CNN's sizes (a file of another network keeps the default CNN's here).
    pub model: ModelConfig,
    /// The network, when it is not the CNN: files written before there were others lack it.
    #[serde(default, skip_serializing_if = "NetworkConfig::is_cnn")]
    pub network: NetworkConfig,
    /// Inputs must be scaled the way they were in training.
    pub normalization: Normalization,
    /// E.g. "mnist".
    pub dataset: String,
    pub epochs: usize,
    /// Test accuracy (0–1) when the file was written, if measured.
    pub test_accuracy: Option<f32>,
    /// How the record stores each weight. Loading always gives f32 weights.
    #[serde(default)]
    pub precision: Precision,
    /// FNV-1a 64 of the record bytes that follow the header.
    pub record_checksum: u64,
    pub record_len: usize,
}

/// The number format of the stored weights.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Exactly the trained weights.
    #[default]
    F32,
    /// Half the file, for the pretrained weights the page downloads before its first
    /// prediction. Rounded to f16, the shipped model's test accuracy and loss are unchanged
    /// (99.20 %, 0.0256: `kindling eval`).
    F16,
    /// A quarter of the file: each weight matrix as bytes with a scale per channel
    /// (`quantize`); biases and BatchNorm stay f32.
    Int8,
}

impl Precision {
    /// The fewest record bytes a parameter takes in this precision: every weight of an f32 or
    /// f16 record is stored whole, and int8 keeps at least a byte per weight (plus scales, and
    /// f32 biases), so a record shorter than this many bytes per parameter cannot be complete.
    fn min_bytes_per_weight(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
            Precision::Int8 => 1,
        }
    }

    /// As the header spells it.
    fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        }
    }
}

impl WeightsHeader {
    /// The network the file holds, with its sizes.
    pub fn architecture(&self) -> Architecture {
        Architecture {
            network: self.network.clone(),
            cnn: self.model.clone(),
        }
    }

    /// A header for weights about to be written; the record fields are filled by [`to_bytes`].
    pub fn new(
        architecture: impl Into<Architecture>,
        normalization: Normalization,
        dataset: &str,
        epochs: usize,
        test_accuracy: Option<f32>,
    ) -> Self {
        let architecture = architecture.into();
        Self {
            model: architecture.cnn,
            network: architecture.network,
            normalization,
            dataset: dataset.to_string(),
            epochs,
            test_accuracy,
            precision: Precision::F32,
            record_checksum: 0,
            record_len: 0,
        }
    }
}

/// Every way a weights file can be refused.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightsError {
    Io(String),
    /// Does not start with `KNDL`: not a Kindling weights file at all.
    NotWeights,
    /// Written by a newer (or unknown) format.
    UnsupportedVersion(u32),
    /// Cut short: the header or record is incomplete.
    Truncated {
        expected: usize,
        actual: usize,
    },
    /// The header is not valid JSON of the expected shape.
    BadHeader(String),
    /// The record bytes do not match the header's checksum.
    Corrupt,
    /// The file holds a different network, or other sizes, than the one asked for.
    WrongModel {
        expected: Box<Architecture>,
        found: Box<Architecture>,
    },
    /// The file holds a kind of network this use has no meaning for (a classifier's weights
    /// where an autoencoder's are expected, or the reverse).
    WrongNetwork {
        expected: NetworkKind,
        found: NetworkKind,
    },
    /// burn refused the record (shapes or names do not fit).
    Record(String),
    /// The header's record length is beyond any file: the file's length would overflow.
    RecordLength(usize),
    /// The header describes a model bigger than its record could hold: refused before the model
    /// is built, as building it would allocate what the header asks for.
    RecordTooSmall {
        model: Box<Architecture>,
        precision: Precision,
        params: usize,
        record_len: usize,
    },
}

impl std::fmt::Display for WeightsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(message) => write!(f, "cannot read or write the weights file: {message}"),
            Self::NotWeights => write!(f, "not a Kindling weights file (it does not start with KNDL)"),
            Self::UnsupportedVersion(v) => write!(
                f,
                "weights file format {v} is not supported (this build reads format {FORMAT_VERSION})"
            ),
            Self::Truncated { expected, actual } => write!(
                f,
                "the weights file is truncated: expected {expected} bytes, found {actual}"
            ),
            Self::BadHeader(message) => write!(f, "the weights file header is damaged: {message}"),
            Self::Corrupt => write!(f, "the weights file is corrupt: its checksum does not match"),
            Self::WrongModel { expected, found } => write!(
                f,
                "the weights are for another model ({}), not this one ({})",
                found.describe(),
                expected.describe()
            ),
            Self::WrongNetwork { expected, found } => write!(
                f,
                "the weights are for {}, but {} is needed here",
                found.describe(),
                expected.describe()
            ),
            Self::Record(message) => write!(f, "the weights do not fit the model: {message}"),
            Self::RecordLength(len) => write!(
                f,
                "the weights file header declares a record of {} bytes, more than any file holds",
                grouped(*len)
            ),
            Self::RecordTooSmall {
                model,
                precision,
                params,
                record_len,
            } => write!(
                f,
                "the header describes a model of {} parameters ({}) but the record holds only {} \
                 bytes, fewer than {} weights need ({})",
                grouped(*params),
                model.describe(),
                grouped(*record_len),
                precision.name(),
                grouped(params.saturating_mul(precision.min_bytes_per_weight()))
            ),
        }
    }
}

impl std::error::Error for WeightsError {}

/// Serialises `model`, in the header's precision, with a header describing it. The header's
/// checksum fields are filled here.
pub fn to_bytes(model: &Network, header: &WeightsHeader) -> Result<Vec<u8>, WeightsError> {
    let record = match header.precision {
        Precision::F32 => burn_record(model.clone())?,
        Precision::F16 => burn_record(model.clone().map(&mut CastTo(DType::F16)))?,
        Precision::Int8 => quantize::encode(model)?,
    };
    let header = WeightsHeader {
        record_checksum: fnv1a(&record),
        record_len: record.len(),
        ..header.clone()
    };
    let json = serde_json::to_vec(&header).map_err(|e| WeightsError::BadHeader(e.to_string()))?;
    let mut out = Vec::with_capacity(PREFIX_LEN + json.len() + record.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&record);
    Ok(out)
}

/// [`to_bytes`] for a model on any device. The weights are read back asynchronously first:
/// WebGPU in a browser cannot read a tensor synchronously, which `to_bytes` would.
pub async fn to_bytes_async(
    model: &Network,
    header: &WeightsHeader,
) -> Result<Vec<u8>, WeightsError> {
    to_bytes(&read_to_cpu(model).await?, header)
}

/// A copy of `model` on the CPU, its weights read back with `into_data_async`.
async fn read_to_cpu(model: &Network) -> Result<Network, WeightsError> {
    /// Every float parameter, flattened to one rank so they fit one list, with its shape.
    struct Collect(Vec<(ParamId, Tensor<1>, Vec<usize>)>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let shape = tensor.dims().to_vec();
            self.0.push((param.id, tensor.reshape([-1]), shape));
        }
    }
    /// Puts the read values back in place of the parameters, on the CPU.
    struct Replace(HashMap<ParamId, TensorData>, Device);
    impl ModuleMapper for Replace {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let data = self.0.remove(&param.id).expect("every parameter was read");
            param.map(|_| Tensor::from_data(data, &self.1))
        }
    }

    let mut params = Collect(Vec::new());
    model.visit(&mut params);
    let mut values = HashMap::new();
    for (id, flat, shape) in params.0 {
        let data = flat
            .into_data_async()
            .await
            .map_err(|e| WeightsError::Record(format!("reading the weights back failed: {e:?}")))?;
        let data = data
            .convert::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| WeightsError::Record(format!("{e:?}")))?;
        values.insert(id, TensorData::new(data, shape));
    }
    Ok(model.clone().map(&mut Replace(values, Device::flex())))
}

/// Reads only the header, checking the file's frame and checksum, and that the model the header
/// describes is valid and could fit in the record, but building no model.
pub fn read_header(bytes: &[u8]) -> Result<(WeightsHeader, &[u8]), WeightsError> {
    if bytes.len() < PREFIX_LEN {
        if !bytes.starts_with(&MAGIC[..bytes.len().min(4)]) || bytes.is_empty() {
            return Err(WeightsError::NotWeights);
        }
        return Err(WeightsError::Truncated {
            expected: PREFIX_LEN,
            actual: bytes.len(),
        });
    }
    if &bytes[..4] != MAGIC {
        return Err(WeightsError::NotWeights);
    }
    let version = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if version != FORMAT_VERSION {
        return Err(WeightsError::UnsupportedVersion(version));
    }
    let header_len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(WeightsError::BadHeader(format!(
            "header length {header_len} is implausible"
        )));
    }
    let header_end = PREFIX_LEN + header_len;
    if bytes.len() < header_end {
        return Err(WeightsError::Truncated {
            expected: header_end,
            actual: bytes.len(),
        });
    }
    let header = parse_header(&bytes[PREFIX_LEN..header_end])?;
    let record = &bytes[header_end..];
    let expected = (header_end.checked_add(header.record_len))
        .ok_or(WeightsError::RecordLength(header.record_len))?;
    if bytes.len() != expected {
        return Err(WeightsError::Truncated {
            expected,
            actual: bytes.len(),
        });
    }
    (header.architecture().validate()).map_err(WeightsError::BadHeader)?;
    check_record_size(&header)?;
    if fnv1a(record) != header.record_checksum {
        return Err(WeightsError::Corrupt);
    }
    Ok((header, record))
}

/// Refuses a header whose model its record could not hold. The model's size comes from the
/// header alone, so without this a few hundred bytes could make the loader build (allocate and
/// initialise) a model of any size before burn noticed the record does not fit it. The header's
/// layer sizes must be validated first: they bound the parameter count.
fn check_record_size(header: &WeightsHeader) -> Result<(), WeightsError> {
    let params = cost::params(&header.architecture());
    let needed = params.saturating_mul(header.precision.min_bytes_per_weight());
    if header.record_len < needed {
        return Err(WeightsError::RecordTooSmall {
            model: Box::new(header.architecture()),
            precision: header.precision,
            params,
            record_len: header.record_len,
        });
    }
    Ok(())
}

/// The header's JSON. Headers written before the BatchNorm variant existed lack
/// `model.batch_norm`: they describe the plain model.
fn parse_header(json: &[u8]) -> Result<WeightsHeader, WeightsError> {
    let bad = |e: serde_json::Error| WeightsError::BadHeader(e.to_string());
    let mut value: serde_json::Value = serde_json::from_slice(json).map_err(bad)?;
    if let Some(model) = value.get_mut("model").and_then(|m| m.as_object_mut()) {
        model.entry("batch_norm").or_insert(false.into());
    }
    serde_json::from_value(value).map_err(bad)
}

/// Builds the network the file describes, with its weights, on `device`.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<(Network, WeightsHeader), WeightsError> {
    let (header, record) = read_header(bytes)?;
    let model = with_record(&header.architecture(), header.precision, record, device)?;
    Ok((model, header))
}

/// [`from_bytes`] where only a CNN will do (its views, int8, distillation's teacher): a file
/// of another network is refused with a sentence.
pub fn cnn_from_bytes(
    bytes: &[u8],
    device: &Device,
) -> Result<(Model, WeightsHeader), WeightsError> {
    let (network, header) = from_bytes(bytes, device)?;
    Ok((into_cnn(network)?, header))
}

/// The CNN a network is, or the sentence saying it is another.
pub fn into_cnn(network: Network) -> Result<Model, WeightsError> {
    match network {
        Network::Cnn(model) => Ok(model),
        other => Err(WeightsError::WrongNetwork {
            expected: NetworkKind::Cnn,
            found: other.kind(),
        }),
    }
}

/// Like [`from_bytes`], but for the network `expected` describes: a file made for another
/// network or variant (other layer sizes, or with BatchNorm where `expected` has none) is
/// refused. The model takes `expected`'s dropout and noise, which have no weights.
pub fn from_bytes_for(
    bytes: &[u8],
    expected: &Architecture,
    device: &Device,
) -> Result<(Network, WeightsHeader), WeightsError> {
    let (header, record) = read_header(bytes)?;
    let found = header.architecture();
    if found.kind() != expected.kind() {
        return Err(WeightsError::WrongNetwork {
            expected: expected.kind(),
            found: found.kind(),
        });
    }
    if !found.same_weights(expected) {
        return Err(WeightsError::WrongModel {
            expected: Box::new(expected.clone()),
            found: Box::new(found),
        });
    }
    let model = with_record(expected, header.precision, record, device)?;
    Ok((model, header))
}

/// burn's record of the network's own module: a CNN's file holds the CNN's record, as it did
/// before there were other networks.
fn burn_record(network: Network) -> Result<Vec<u8>, WeightsError> {
    let bytes = match network {
        Network::Cnn(model) => model.into_record().into_bytes(),
        Network::Rnn(rnn) => rnn.into_record().into_bytes(),
        Network::Autoencoder(ae) => ae.into_record().into_bytes(),
    };
    Ok(bytes
        .map_err(|e| WeightsError::Record(e.to_string()))?
        .to_vec())
}

/// An `architecture` network on `device` holding the weights of `record`.
fn with_record(
    architecture: &Architecture,
    precision: Precision,
    record: &[u8],
    device: &Device,
) -> Result<Network, WeightsError> {
    if precision == Precision::Int8 {
        return quantize::decode(architecture, record, device);
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(record.to_vec()))
        .map_err(|e| WeightsError::Record(e.to_string()))?
        .cast_to_module_dtype();
    let refused = |e: burn::store::RecordError| WeightsError::Record(e.to_string());
    Ok(match architecture.init(device) {
        Network::Cnn(model) => Network::Cnn(model.try_load_record(record).map_err(refused)?),
        Network::Rnn(rnn) => Network::Rnn(rnn.try_load_record(record).map_err(refused)?),
        Network::Autoencoder(ae) => {
            Network::Autoencoder(ae.try_load_record(record).map_err(refused)?)
        }
    })
}

pub fn save(path: &Path, model: &Network, header: &WeightsHeader) -> Result<(), WeightsError> {
    let bytes = to_bytes(model, header)?;
    std::fs::write(path, bytes).map_err(|e| WeightsError::Io(format!("{}: {e}", path.display())))
}

pub fn load(path: &Path, device: &Device) -> Result<(Network, WeightsHeader), WeightsError> {
    let bytes =
        std::fs::read(path).map_err(|e| WeightsError::Io(format!("{}: {e}", path.display())))?;
    from_bytes(&bytes, device)
}

/// Casts every float parameter of a module to one dtype.
pub(crate) struct CastTo(pub(crate) DType);

impl ModuleMapper for CastTo {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|tensor| tensor.cast(self.0))
    }
}

/// FNV-1a, 64 bit: catches flipped or lost bytes; not a defence against tampering.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `1234567` as "1,234,567", for sizes in messages.
fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
