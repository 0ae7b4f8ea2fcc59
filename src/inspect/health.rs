//! Training health: per layer, how large the gradient is and how much a step changes the
//! weights (the update-to-weight ratio), with a plain warning when gradients vanish or explode;
//! and clipping by the global gradient norm, the usual remedy for the second.
//!
//! Measured every few steps, not every one: each measurement is some fifty small reductions and
//! one read back. On the CPU that is under a millisecond; on WebGPU each launch queues for
//! milliseconds, so one measurement costs about as much as a step there.

use std::collections::HashMap;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use serde::Serialize;

/// Steps between two health measurements on the CPU, and on WebGPU, where one measurement costs
/// about a step (`./build.sh bench` times both with and without).
pub const HEALTH_EVERY: usize = 10;
pub const HEALTH_EVERY_WEBGPU: usize = 50;
/// A layer whose gradient norm falls below this has stopped learning: its gradients vanished.
pub const VANISHING_GRADIENT: f32 = 1e-6;
/// A global gradient norm above this is exploding (a healthy seed run stays near 1).
pub const EXPLODING_GRADIENT: f32 = 100.0;
/// An update that changes a layer's weights by more than this fraction in one step is too
/// large; around 1e-3 is the usual healthy ratio.
pub const LARGE_UPDATE: f32 = 0.1;

/// One layer's numbers at one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerHealth {
    /// The model's field: conv1, norm1, conv2, norm2, dense1, dense2.
    pub layer: String,
    /// L2 norm of the layer's gradient (weights and biases), before any clipping.
    pub gradient_norm: f32,
    /// L2 norm of the layer's weights before the step.
    pub weight_norm: f32,
    /// ‖update‖ / ‖weights‖ for this step.
    pub update_ratio: f32,
}

/// The health of one step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Health {
    /// 1-based step of the run.
    pub step: usize,
    /// Steps between measurements.
    pub every: usize,
    pub layers: Vec<LayerHealth>,
    /// L2 norm of the whole gradient, before any clipping.
    pub gradient_norm: f32,
    /// The largest norm the gradient may have (clipping), if set.
    pub clip_norm: Option<f64>,
    /// True when clipping scaled this step's gradient down.
    pub clipped: bool,
    /// Plain sentences when a threshold is crossed.
    pub warnings: Vec<String>,
}

/// Each parameter that has a gradient, in the model's order, with the layer it belongs to.
struct Collect<'a> {
    path: Vec<String>,
    grads: &'a GradientsParams,
    /// (layer, id, value flattened, gradient flattened)
    found: Vec<(String, ParamId, Tensor<1>, Tensor<1>)>,
}

impl ModuleVisitor for Collect<'_> {
    // A network's variant (`Network::Cnn`) is not a layer: the layers are its fields.
    fn enter_module(&mut self, name: &str, container: &str) {
        if !container.starts_with("Enum:") {
            self.path.push(name.to_string());
        }
    }
    fn exit_module(&mut self, _name: &str, container: &str) {
        if !container.starts_with("Enum:") {
            self.path.pop();
        }
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let layer = self.path.first().cloned().unwrap_or_default();
            let flat = |t: Tensor<D>| t.detach().reshape([-1]);
            self.found
                .push((layer, param.id, flat(param.val()), flat(grad)));
        }
    }
}

fn collect<M: Module>(
    model: &M,
    grads: &GradientsParams,
) -> Vec<(String, ParamId, Tensor<1>, Tensor<1>)> {
    let mut visitor = Collect {
        path: Vec::new(),
        grads,
        found: Vec::new(),
    };
    model.visit(&mut visitor);
    visitor.found
}

/// The gradients before a step, to measure with [`measure`] once the step is taken.
pub struct Before {
    layers: Vec<String>,
    /// Per parameter: its layer's index, its id, its value and its gradient.
    params: Vec<(usize, ParamId, Tensor<1>, Tensor<1>)>,
}

/// Takes note of the weights and gradients before the optimizer's step.
pub fn before_step<M: Module>(model: &M, grads: &GradientsParams) -> Before {
    let mut layers: Vec<String> = Vec::new();
    let params = collect(model, grads)
        .into_iter()
        .map(|(layer, id, value, grad)| {
            let index = layers.iter().position(|l| *l == layer).unwrap_or_else(|| {
                layers.push(layer);
                layers.len() - 1
            });
            (index, id, value, grad)
        })
        .collect();
    Before { layers, params }
}

/// The health of the step that took the weights of `before` to `after`'s; `clip` is the
/// clipping norm the step used, if any.
pub async fn measure<M: Module>(
    before: Before,
    after: &M,
    (step, every): (usize, usize),
    clip: Option<f64>,
) -> Result<Health, String> {
    let mut after_values = Values(HashMap::new());
    after.visit(&mut after_values);
    let mut sums = Vec::with_capacity(3 * before.params.len());
    for (_, id, value, grad) in &before.params {
        let new = after_values
            .0
            .remove(id)
            .ok_or("a parameter vanished in the step")?;
        sums.push(grad.clone().square().sum());
        sums.push(value.clone().square().sum());
        sums.push((new - value.clone()).square().sum());
    }
    let sums = super::read_floats(Tensor::cat(sums, 0)).await?;
    let mut per_layer = vec![[0.0f64; 3]; before.layers.len()];
    for ((layer, _, _, _), three) in before.params.iter().zip(sums.chunks(3)) {
        for (total, &s) in per_layer[*layer].iter_mut().zip(three) {
            *total += s as f64;
        }
    }
    let layers: Vec<LayerHealth> = (before.layers.iter().zip(&per_layer))
        .map(|(name, [g, w, u])| LayerHealth {
            layer: name.clone(),
            gradient_norm: g.sqrt() as f32,
            weight_norm: w.sqrt() as f32,
            update_ratio: if *w > 0.0 { (u / w).sqrt() as f32 } else { 0.0 },
        })
        .collect();
    let gradient_norm = per_layer.iter().map(|[g, _, _]| g).sum::<f64>().sqrt() as f32;
    let clipped = clip.is_some_and(|max| gradient_norm as f64 > max);
    let warnings = warnings(&layers, gradient_norm);
    Ok(Health {
        step,
        every,
        layers,
        gradient_norm,
        clip_norm: clip,
        clipped,
        warnings,
    })
}

/// When health is measured and what the warnings watch for, in sentences for the page.
pub fn describe_thresholds() -> String {
    format!(
        "Measured on the first step, then every {HEALTH_EVERY} steps on the CPU and every \
         {HEALTH_EVERY_WEBGPU} on WebGPU (where one measurement costs about as much as a step). \
         The warnings come when a layer's gradient norm falls below {VANISHING_GRADIENT:e} \
         (vanishing), when the whole gradient's norm exceeds {EXPLODING_GRADIENT} (exploding), \
         or when a step changes a layer's weights by more than {:.0}% (large updates).",
        LARGE_UPDATE * 100.0
    )
}

/// The sentences a person sees when a threshold is crossed.
pub fn warnings(layers: &[LayerHealth], gradient_norm: f32) -> Vec<String> {
    let mut said = Vec::new();
    if !gradient_norm.is_finite() || gradient_norm > EXPLODING_GRADIENT {
        said.push(format!(
            "Exploding gradients: the gradient's norm is {gradient_norm:.3e}, above \
             {EXPLODING_GRADIENT}. Lower the learning rate or clip the gradient's norm."
        ));
    }
    for l in layers {
        if l.gradient_norm < VANISHING_GRADIENT {
            said.push(format!(
                "Vanishing gradients: {}'s gradient norm is {:.1e}, below {VANISHING_GRADIENT:e}; \
                 the layer has stopped learning.",
                l.layer, l.gradient_norm
            ));
        }
        if l.update_ratio > LARGE_UPDATE {
            said.push(format!(
                "Large updates: a step changes {}'s weights by {:.0}%, more than {:.0}%.",
                l.layer,
                l.update_ratio * 100.0,
                LARGE_UPDATE * 100.0
            ));
        }
    }
    said
}

/// Every float parameter's value, flattened, by id.
struct Values(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.insert(param.id, param.val().detach().reshape([-1]));
    }
}

/// Scales the whole gradient down so its L2 norm is at most `max_norm` (a gradient already
/// within it is unchanged). The scale stays on the device: no read back, no wait.
pub fn clip_by_global_norm<M: Module>(
    model: &M,
    mut grads: GradientsParams,
    max_norm: f64,
) -> GradientsParams {
    let found = collect(model, &grads);
    let Some(total) = found
        .iter()
        .map(|(_, _, _, g)| g.clone().square().sum())
        .reduce(|a, b| a + b)
    else {
        return grads;
    };
    // min(1, max / ‖g‖): [1]
    let scale = total
        .sqrt()
        .add_scalar(1e-12)
        .recip()
        .mul_scalar(max_norm)
        .clamp_max(1.0);
    struct Scale<'a> {
        grads: &'a mut GradientsParams,
        scale: Tensor<1>,
    }
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.remove::<D>(param.id) {
                let scale = self.scale.clone().reshape([1usize; D]);
                self.grads.register::<D>(param.id, g * scale);
            }
        }
    }
    model.visit(&mut Scale {
        grads: &mut grads,
        scale,
    });
    grads
}
