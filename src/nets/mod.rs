//! The networks Kindling trains, each a task: the CNN (`model`), the recurrent classifier
//! (`rnn`) and the autoencoder (`autoencoder`).
//!
//! What differs between them lives here and in their files: the model and its sizes, the loss of
//! a batch, the metric (accuracy, or the reconstruction error), the FLOPs, what a weights file
//! records. Everything else is shared: the trainer, checkpoints, the ledger and run card, the
//! worker protocol, the weights format. A network that has two models (a GAN) is one more
//! variant: a `Module` holding both, whose loss the trainer asks for once per model it updates.

pub mod autoencoder;
pub mod rnn;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::cost::LayerCost;
use crate::model::{Model, ModelConfig};
pub use autoencoder::{Autoencoder, AutoencoderConfig};
pub use rnn::{Cell, Rnn, RnnConfig};

/// The network a run trains, as the command line's `--network` and the page's menu name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum NetworkKind {
    /// The seed's convolutional classifier.
    #[default]
    Cnn,
    /// An LSTM (or GRU) reading the digit row by row, then a dense classifier.
    Rnn,
    /// A convolutional autoencoder: a digit squeezed into a few numbers and drawn back.
    Autoencoder,
}

impl NetworkKind {
    pub const ALL: [NetworkKind; 3] =
        [NetworkKind::Cnn, NetworkKind::Rnn, NetworkKind::Autoencoder];

    /// "an autoencoder": for sentences.
    pub fn describe(self) -> &'static str {
        match self {
            NetworkKind::Cnn => "a CNN classifier",
            NetworkKind::Rnn => "an RNN classifier",
            NetworkKind::Autoencoder => "an autoencoder",
        }
    }

    /// True for the networks that answer a digit (and have a test accuracy).
    pub fn classifies(self) -> bool {
        self != NetworkKind::Autoencoder
    }
}

/// A network other than the seed CNN, with its sizes. The CNN's own sizes are the run's
/// `ModelConfig`; a run or weights file that names no network is the CNN's.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NetworkConfig {
    #[default]
    Cnn,
    Rnn(RnnConfig),
    Autoencoder(AutoencoderConfig),
}

impl NetworkConfig {
    pub fn kind(&self) -> NetworkKind {
        match self {
            NetworkConfig::Cnn => NetworkKind::Cnn,
            NetworkConfig::Rnn(_) => NetworkKind::Rnn,
            NetworkConfig::Autoencoder(_) => NetworkKind::Autoencoder,
        }
    }

    pub fn is_cnn(&self) -> bool {
        *self == NetworkConfig::Cnn
    }

    /// The default sizes of `kind`.
    pub fn of(kind: NetworkKind) -> Self {
        match kind {
            NetworkKind::Cnn => NetworkConfig::Cnn,
            NetworkKind::Rnn => NetworkConfig::Rnn(RnnConfig::new()),
            NetworkKind::Autoencoder => NetworkConfig::Autoencoder(AutoencoderConfig::new()),
        }
    }
}

/// A network with all its sizes: what a run trains and what a weights file holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Architecture {
    pub network: NetworkConfig,
    /// The CNN's sizes (used when `network` is the CNN).
    pub cnn: ModelConfig,
}

/// The CNN of these sizes.
impl From<ModelConfig> for Architecture {
    fn from(cnn: ModelConfig) -> Self {
        Architecture {
            network: NetworkConfig::Cnn,
            cnn,
        }
    }
}

impl Architecture {
    pub fn kind(&self) -> NetworkKind {
        self.network.kind()
    }

    /// Refuses sizes out of range before anything is allocated.
    pub fn validate(&self) -> Result<(), String> {
        match &self.network {
            NetworkConfig::Cnn => self.cnn.validate(),
            NetworkConfig::Rnn(rnn) => rnn.validate(),
            NetworkConfig::Autoencoder(ae) => ae.validate(),
        }
    }

    /// The network in a few words: "CNN conv 32/64, dense 64", "RNN LSTM 128",
    /// "autoencoder code 32".
    pub fn describe(&self) -> String {
        match &self.network {
            NetworkConfig::Cnn => format!("CNN {}", self.cnn.describe()),
            NetworkConfig::Rnn(rnn) => format!("RNN {}", rnn.describe()),
            NetworkConfig::Autoencoder(ae) => format!("autoencoder {}", ae.describe()),
        }
    }

    /// True when both have the same weights, so one's weights file fits the other (dropout and
    /// the denoising noise have none).
    pub fn same_weights(&self, other: &Architecture) -> bool {
        match (&self.network, &other.network) {
            (NetworkConfig::Cnn, NetworkConfig::Cnn) => self.cnn.same_weights(&other.cnn),
            (NetworkConfig::Rnn(a), NetworkConfig::Rnn(b)) => a == b,
            (NetworkConfig::Autoencoder(a), NetworkConfig::Autoencoder(b)) => {
                a.bottleneck == b.bottleneck
            }
            _ => false,
        }
    }

    /// The network with fresh weights on `device`, its parameters numbered in order.
    pub fn init(&self, device: &Device) -> Network {
        match &self.network {
            NetworkConfig::Cnn => Network::Cnn(self.cnn.init(device)),
            NetworkConfig::Rnn(rnn) => Network::Rnn(numbered(rnn.init(device))),
            NetworkConfig::Autoencoder(ae) => Network::Autoencoder(numbered(ae.init(device))),
        }
    }

    /// The layers that do arithmetic, with their parameters and multiply-adds per image.
    pub fn layer_costs(&self) -> Vec<LayerCost> {
        match &self.network {
            NetworkConfig::Cnn => crate::cost::layer_costs(&self.cnn),
            NetworkConfig::Rnn(rnn) => rnn.layer_costs(),
            NetworkConfig::Autoencoder(ae) => ae.layer_costs(),
        }
    }

    /// Output shape of each layer for one image, for `kindling info`.
    pub fn layer_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        match &self.network {
            NetworkConfig::Cnn => self.cnn.layer_shapes(),
            NetworkConfig::Rnn(rnn) => rnn.layer_shapes(),
            NetworkConfig::Autoencoder(ae) => ae.layer_shapes(),
        }
    }
}

/// A network and its weights. Build one with [`Architecture::init`].
#[derive(Module, Debug)]
pub enum Network {
    Cnn(Model),
    Rnn(Rnn),
    Autoencoder(Autoencoder),
}

impl Network {
    pub fn kind(&self) -> NetworkKind {
        match self {
            Network::Cnn(_) => NetworkKind::Cnn,
            Network::Rnn(_) => NetworkKind::Rnn,
            Network::Autoencoder(_) => NetworkKind::Autoencoder,
        }
    }

    /// The CNN's class scores, or a classifier's: `[batch, 10]` (the tests' shorthand).
    ///
    /// # Panics
    /// For an autoencoder, which has no class scores.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.logits(images).expect("a classifier")
    }

    /// The CNN, when this is one.
    pub fn cnn(&self) -> Option<&Model> {
        match self {
            Network::Cnn(model) => Some(model),
            _ => None,
        }
    }

    /// Class scores of a classifier, `[batch, 10]`; `None` for the autoencoder.
    pub fn logits(&self, images: Tensor<4>) -> Option<Tensor<2>> {
        match self {
            Network::Cnn(model) => Some(model.forward(images)),
            Network::Rnn(rnn) => Some(rnn.forward(images)),
            Network::Autoencoder(_) => None,
        }
    }

    /// An autoencoder's reconstructions, `[batch, 1, 28, 28]`; a classifier's input unchanged.
    pub fn reconstruct(&self, images: Tensor<4>) -> Tensor<4> {
        match self {
            Network::Autoencoder(ae) => ae.forward(images),
            _ => images,
        }
    }

    /// The weights (not the biases) that L1 and L2 penalise, flattened.
    pub fn kernels(&self) -> Tensor<1> {
        match self {
            Network::Cnn(model) => model.kernels(),
            Network::Rnn(rnn) => Tensor::cat(
                vec![
                    rnn.input_weight.val().flatten(0, 1),
                    rnn.hidden_weight.val().flatten(0, 1),
                    rnn.dense.weight.val().flatten(0, 1),
                ],
                0,
            ),
            Network::Autoencoder(ae) => Tensor::cat(
                vec![
                    ae.conv1.weight.val().flatten(0, 3),
                    ae.conv2.weight.val().flatten(0, 3),
                    ae.encode.weight.val().flatten(0, 1),
                    ae.expand.weight.val().flatten(0, 1),
                    ae.deconv1.weight.val().flatten(0, 3),
                    ae.deconv2.weight.val().flatten(0, 3),
                ],
                0,
            ),
        }
    }

    /// `l1·Σ|w| + l2·Σw²` over the kernels: the term regularization adds to the loss. `None`
    /// when both are 0.
    pub fn weight_penalty(&self, l1: f64, l2: f64) -> Option<Tensor<1>> {
        crate::model::weight_penalty(|| self.kernels(), l1, l2)
    }
}

/// Parameter ids of a new model: `FIRST_PARAM_ID` and on, in the model's order.
const FIRST_PARAM_ID: u64 = 0x4B49_4E44_0000_0000; // "KIND"

/// The module with its parameters numbered in order. burn draws each id at random and a weights
/// file records them, so without this two runs of one recipe, or a run and its continuation from
/// a checkpoint, would write different files for the same weights.
pub fn numbered<M: Module>(module: M) -> M {
    struct Number(u64);
    impl ModuleMapper for Number {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            let (_, value, mapper) = param.consume();
            self.0 += 1;
            Param::from_mapped_value(ParamId::from(self.0), value, mapper)
        }
    }
    module.map(&mut Number(FIRST_PARAM_ID))
}
