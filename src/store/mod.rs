//! What a run leaves on disk or in the browser: the weights file (f32, f16 or int8 with a scale
//! per channel), and the checkpoint that holds a run whole (its settings, weights, optimizer
//! state, position and ledger) so it can go on exactly.

pub mod checkpoint;
pub mod optimizer_state;
pub mod quantize;
pub mod weights;
