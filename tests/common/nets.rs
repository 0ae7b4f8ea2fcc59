//! Checks of the other networks that run natively (`tests/nets.rs`) and in the browser
//! (`tests/web.rs`), on any device: the recurrent cells against burn's own `Lstm` and `Gru`
//! with the same weights, forward and backward; the autoencoder's step. Async, reading tensors
//! back as WebGPU must.

use burn::module::Param;
use burn::nn::{GruConfig, LinearConfig, LstmConfig};
use burn::tensor::{Device, Distribution, Tensor};
use kindling::nets::rnn::{ROW, STEPS};
use kindling::nets::{Cell, Rnn};

pub async fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data_async().await.unwrap().iter::<f32>().collect()
}

/// The largest difference between two tensors, relative to the larger's scale.
pub async fn worst<const D: usize>(ours: Tensor<D>, theirs: Tensor<D>) -> f32 {
    let (a, b) = (read(ours).await, read(theirs).await);
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1e-3f32, |m, x| m.max(x.abs()));
    a.iter()
        .zip(&b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// Kindling's cell with burn's weights: each gate's input and hidden matrices side by side, in
/// the order Kindling's cell cuts them, and their biases.
fn rnn_from(
    cell: Cell,
    units: usize,
    gates: Vec<&burn::nn::GateController>,
    device: &Device,
) -> Rnn {
    let weights = |pick: fn(&burn::nn::GateController) -> &burn::nn::Linear| {
        let w = gates.iter().map(|g| pick(g).weight.val()).collect();
        let b = gates
            .iter()
            .map(|g| pick(g).bias.as_ref().unwrap().val())
            .collect();
        (Tensor::cat(w, 1).detach(), Tensor::cat(b, 0).detach())
    };
    let (input_weight, bias_input) = weights(|g| &g.input_transform);
    let (hidden_weight, bias_hidden) = weights(|g| &g.hidden_transform);
    Rnn {
        input_weight: Param::from_tensor(input_weight),
        hidden_weight: Param::from_tensor(hidden_weight),
        bias_input: Param::from_tensor(bias_input),
        bias_hidden: Param::from_tensor(bias_hidden),
        dense: LinearConfig::new(units, 10).init(device),
        cell,
        units,
    }
}

/// Kindling's LSTM and GRU give burn's `Lstm` and `Gru` hidden states for the same weights,
/// and the same gradients for the input and a hidden-state weight; `tolerance` relative.
pub async fn check_cells(device: &Device, tolerance: f32) {
    let units = 6;
    // Drawn on the CPU, where they can be read at once, then put on `device`.
    let flex = Device::flex();
    let images = Tensor::<4>::random([3, 1, STEPS, ROW], Distribution::Default, &flex);
    let rows = || images.clone().reshape([3, STEPS, ROW]);
    // The loss both backward passes start from: a fixed weighting of every hidden state.
    let weighting = Tensor::<3>::random([3, STEPS, units], Distribution::Default, &flex);
    for cell in [Cell::Lstm, Cell::Gru] {
        let autodiff = device.clone().autodiff();
        let input = Tensor::<4>::from_data(images.to_data(), &autodiff).require_grad();
        let theirs_input = Tensor::<3>::from_data(rows().to_data(), &autodiff).require_grad();
        let weighting = Tensor::<3>::from_data(weighting.to_data(), &autodiff);
        // Each side: the hidden states, one gate's hidden-state weight gradient, the input's.
        let (theirs, ours) = match cell {
            Cell::Lstm => {
                let lstm = LstmConfig::new(ROW, units, true).init(&autodiff);
                let forget = lstm.forget_gate.as_ref().unwrap();
                let gates = vec![&lstm.input_gate, forget, &lstm.cell_gate, &lstm.output_gate];
                let rnn = rnn_from(cell, units, gates, &autodiff);
                let (states, _) = lstm.forward(theirs_input.clone(), None);
                let ours = Tensor::stack(rnn.hidden_states(input.clone()), 1);
                let grads = (states.clone() * weighting.clone()).sum().backward();
                let our_grads = (ours.clone() * weighting.clone()).sum().backward();
                // The input gate's: the first `units` columns of ours.
                let their_w = lstm
                    .input_gate
                    .hidden_transform
                    .weight
                    .grad(&grads)
                    .unwrap();
                let our_w = rnn.hidden_weight.grad(&our_grads).unwrap();
                (
                    (states.inner(), their_w, theirs_input.grad(&grads).unwrap()),
                    (
                        ours.inner(),
                        our_w.slice([0..units, 0..units]),
                        input.grad(&our_grads).unwrap().reshape([3, STEPS, ROW]),
                    ),
                )
            }
            Cell::Gru => {
                let gru = GruConfig::new(ROW, units, true).init(&autodiff);
                let gates = vec![&gru.update_gate, &gru.reset_gate, &gru.new_gate];
                let rnn = rnn_from(cell, units, gates, &autodiff);
                let states = gru.forward(theirs_input.clone(), None);
                let ours = Tensor::stack(rnn.hidden_states(input.clone()), 1);
                let grads = (states.clone() * weighting.clone()).sum().backward();
                let our_grads = (ours.clone() * weighting.clone()).sum().backward();
                // The candidate's, which the reset gate scales: the last third of ours.
                let their_w = gru.new_gate.hidden_transform.weight.grad(&grads).unwrap();
                let our_w = rnn.hidden_weight.grad(&our_grads).unwrap();
                (
                    (states.inner(), their_w, theirs_input.grad(&grads).unwrap()),
                    (
                        ours.inner(),
                        our_w.slice([0..units, 2 * units..3 * units]),
                        input.grad(&our_grads).unwrap().reshape([3, STEPS, ROW]),
                    ),
                )
            }
        };
        let states = worst(ours.0, theirs.0).await;
        let weight = worst(ours.1, theirs.1).await;
        let inputs = worst(ours.2, theirs.2).await;
        assert!(
            states < tolerance && weight < tolerance && inputs < tolerance,
            "{cell:?} on {device:?}: hidden states {states}, weight gradient {weight}, \
             input gradient {inputs}"
        );
    }
}
