//! The recurrent classifier: the image read row by row, 28 steps of 28 pixels, through an LSTM
//! (or a GRU), and a dense layer on the last hidden state.
//!
//! The cells are written here rather than taken from burn's `Lstm`/`Gru`: burn's multiplies each
//! gate's input and hidden state separately (8 matrix products a step for an LSTM) and writes
//! each step into the output with a `slice_assign`. Here the input's product for all 28 steps is
//! one matrix product, and each step one more for all gates together: on WebGPU, where every
//! launch costs time, a step of the sequence is about a third of the launches. The arithmetic
//! is the same: `tests/nets.rs` checks both cells against burn's modules, forward and backward.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, softmax, tanh};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::cost::LayerCost;
use crate::data::{IMAGE_SIDE, NUM_CLASSES};
use crate::training::settings;

/// Which recurrent cell reads the rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "native", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Cell {
    /// Long short-term memory: input, forget, cell and output gates (Hochreiter 1997).
    #[default]
    Lstm,
    /// Gated recurrent unit: update and reset gates, a quarter fewer weights (Cho 2014).
    Gru,
}

impl Cell {
    /// Gates whose weights the cell learns: 4 for an LSTM, 3 for a GRU.
    pub fn gates(self) -> usize {
        match self {
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Cell::Lstm => "LSTM",
            Cell::Gru => "GRU",
        }
    }
}

/// The recurrent network's sizes. The defaults are the classic row-by-row MNIST LSTM.
#[derive(Config, Debug, PartialEq)]
pub struct RnnConfig {
    #[config(default = "Cell::Lstm")]
    pub cell: Cell,
    /// Units of the hidden state.
    #[config(default = "settings::UNITS.default_count()")]
    pub units: usize,
}

/// Pixels per step (one row) and steps (rows).
pub const ROW: usize = IMAGE_SIDE;
pub const STEPS: usize = IMAGE_SIDE;

impl RnnConfig {
    pub fn validate(&self) -> Result<(), String> {
        settings::UNITS.check(self.units as f64)
    }

    /// "LSTM 128": for messages and the run card.
    pub fn describe(&self) -> String {
        format!("{} {}", self.cell.name(), self.units)
    }

    /// Parameters and multiply-adds per image. Each step multiplies a row and the hidden state
    /// by every gate's weights; backward computes the weights' gradient for both and the hidden
    /// state's (not the image's).
    pub fn layer_costs(&self) -> Vec<LayerCost> {
        let width = self.cell.gates() * self.units;
        // One bias for the row's product and one for the state's, as PyTorch and burn have.
        let biases = 2 * width;
        let input_macs = STEPS * ROW * width;
        let hidden_macs = STEPS * self.units * width;
        vec![
            LayerCost {
                name: "recurrent (rows)",
                params: ROW * width + biases,
                macs: input_macs,
                backward_macs: input_macs,
            },
            LayerCost {
                name: "recurrent (state)",
                params: self.units * width,
                macs: hidden_macs,
                backward_macs: 2 * hidden_macs,
            },
            LayerCost {
                name: "dense",
                params: self.units * NUM_CLASSES + NUM_CLASSES,
                macs: self.units * NUM_CLASSES,
                backward_macs: 2 * self.units * NUM_CLASSES,
            },
        ]
    }

    /// Output shape of each layer for one image, for `kindling info`.
    pub fn layer_shapes(&self) -> Vec<(&'static str, Vec<usize>)> {
        vec![
            ("input, read as 28 rows", vec![STEPS, ROW]),
            ("recurrent, every row", vec![STEPS, self.units]),
            ("last hidden state", vec![self.units]),
            ("dense (logits)", vec![NUM_CLASSES]),
        ]
    }

    pub fn init(&self, device: &Device) -> Rnn {
        let (units, gates) = (self.units, self.cell.gates());
        let xavier = Initializer::XavierUniform { gain: 1.0 };
        let mut bias_input = vec![0.0f32; gates * units];
        if self.cell == Cell::Lstm {
            // A forget gate biased open lets the gradient through the early rows from the start
            // (Jozefowicz et al. 2015); the gates are ordered input, forget, cell, output.
            bias_input[units..2 * units].fill(1.0);
        }
        let zeros = |n| Param::from_tensor(Tensor::zeros([n], device));
        Rnn {
            input_weight: xavier.init_with([ROW, gates * units], Some(ROW), Some(units), device),
            hidden_weight: xavier.init_with(
                [units, gates * units],
                Some(units),
                Some(units),
                device,
            ),
            bias_input: Param::from_tensor(Tensor::from_floats(bias_input.as_slice(), device)),
            bias_hidden: zeros(gates * units),
            dense: LinearConfig::new(units, NUM_CLASSES).init(device),
            cell: self.cell,
            units,
        }
    }
}

/// The recurrent classifier. Build it with [`RnnConfig::init`].
#[derive(Module, Debug)]
pub struct Rnn {
    /// Every gate's weights for a row of input, side by side: `[28, gates·units]`.
    pub input_weight: Param<Tensor<2>>,
    /// Every gate's weights for the previous hidden state: `[units, gates·units]`.
    pub hidden_weight: Param<Tensor<2>>,
    /// Added to the input's product: `[gates·units]`.
    pub bias_input: Param<Tensor<1>>,
    /// Added to the hidden state's product: `[gates·units]` (a GRU's reset gate scales it).
    pub bias_hidden: Param<Tensor<1>>,
    /// From the last hidden state to the ten class scores.
    pub dense: Linear,
    #[module(skip)]
    pub cell: Cell,
    pub units: usize,
}

impl Rnn {
    /// Class scores after reading every row: `[batch, 10]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let last = self.hidden_states(images).pop().expect("28 steps");
        self.dense.forward(last)
    }

    /// What the network would answer after each row, top to bottom: `[batch, 28, 10]`
    /// probabilities, the last row's being its answer.
    pub fn beliefs(&self, images: Tensor<4>) -> Tensor<3> {
        let states = Tensor::stack(self.hidden_states(images), 1); // [batch, 28, units]
        softmax(self.dense.forward(states), 2)
    }

    /// The hidden state after each row, `STEPS` tensors of `[batch, units]`.
    pub fn hidden_states(&self, images: Tensor<4>) -> Vec<Tensor<2>> {
        let [batch, _, _, _] = images.dims();
        let width = self.cell.gates() * self.units;
        // Every row's input product at once: [batch·28, 28] × [28, gates·units]
        let rows = images.reshape([batch * STEPS, ROW]);
        let inputs = (rows.matmul(self.input_weight.val()) + self.bias_input.val().unsqueeze())
            .reshape([batch, STEPS, width]); // [batch, 28, gates·units]
        let device = inputs.device();
        let mut hidden = Tensor::zeros([batch, self.units], &device);
        let mut cell = Tensor::zeros([batch, self.units], &device);
        let mut states = Vec::with_capacity(STEPS);
        for step in 0..STEPS {
            let input = inputs
                .clone()
                .slice([0..batch, step..step + 1])
                .reshape([batch, width]);
            let recurrent = hidden.clone().matmul(self.hidden_weight.val())
                + self.bias_hidden.val().unsqueeze(); // [batch, gates·units]
            hidden = match self.cell {
                Cell::Lstm => {
                    let gates = self.split(input + recurrent);
                    let [input_gate, forget, candidate, output] = [0, 1, 2, 3].map(|g| {
                        let gate = gates[g].clone();
                        if g == 2 {
                            tanh(gate)
                        } else {
                            sigmoid(gate)
                        }
                    });
                    cell = forget * cell.clone() + input_gate * candidate;
                    output * tanh(cell.clone())
                }
                Cell::Gru => {
                    let (x, h) = (self.split(input), self.split(recurrent));
                    let update = sigmoid(x[0].clone() + h[0].clone());
                    let reset = sigmoid(x[1].clone() + h[1].clone());
                    let candidate = tanh(x[2].clone() + reset * h[2].clone());
                    // h' = (1 − z)·n + z·h = n + z·(h − n)
                    candidate.clone() + update * (hidden - candidate)
                }
            };
            states.push(hidden.clone());
        }
        states
    }

    /// `[batch, gates·units]` cut into each gate's `[batch, units]`.
    fn split(&self, x: Tensor<2>) -> Vec<Tensor<2>> {
        x.chunk(self.cell.gates(), 1)
    }
}

impl Rnn {
    /// What the network would answer after each row of one image (28×28 bytes, pixels scaled
    /// by `normalization`): 28 rows of 10 probabilities, read back (asynchronously, as WebGPU
    /// needs).
    pub async fn beliefs_of(
        &self,
        image: &[u8; crate::data::IMAGE_PIXELS],
        normalization: crate::data::Normalization,
        device: &Device,
    ) -> Result<Vec<[f32; NUM_CLASSES]>, String> {
        let input = crate::model::inference::input_tensor(image, normalization, device);
        let data = (self.beliefs(input).into_data_async().await).map_err(|e| format!("{e:?}"))?;
        let values: Vec<f32> = data
            .convert::<f32>()
            .try_into_vec()
            .map_err(|e| format!("{e:?}"))?;
        Ok(values
            .chunks_exact(NUM_CLASSES)
            .map(|row| std::array::from_fn(|c| row[c]))
            .collect())
    }
}
