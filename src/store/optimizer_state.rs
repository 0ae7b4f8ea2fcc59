//! An optimizer's state as bytes, read back from any device, and loaded again.
//!
//! burn saves a [`ModuleOptimizer`]'s state (Adam's moments, momentum's velocity, …) through
//! [`RecordState`], which reads every state tensor synchronously. In a browser a synchronous
//! read of a WebGPU tensor panics: the data arrives only after the page's event loop has run.
//! So every optimizer Kindling builds is wrapped in [`Portable`], whose state saves in two
//! passes: the first only collects the state tensors, which are then read back asynchronously
//! ([`to_bytes`]); the second hands burn copies of them on the CPU, which it reads at once. The
//! bytes are burn's own record either way, so any device loads them.
//!
//! burn's state types keep some fields private; [`StateTensors`] reaches every tensor of the
//! states Kindling's optimizers make, and `tests/continuation.rs` checks, optimizer by
//! optimizer, that a state saved this way continues training exactly.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use burn::optim::momentum::{Momentum, MomentumConfig, MomentumState};
use burn::optim::{
    Adam, AdamState, AdamW, AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer,
    Optimizer, OptimizerRecord, RecordState, RmsProp, RmsPropState, Sgd, SgdState, StateSink,
    StateSource,
};
use burn::tensor::{Bytes, Device, Tensor, TensorData};

/// An optimizer (or its state) whose state can be read back from any device.
#[derive(Clone, Debug)]
pub struct Portable<T>(pub T);

/// Every state tensor of a state, in a fixed order, passed through `f`.
pub trait StateTensors: Sized {
    fn map_tensors(self, f: &mut impl MapTensor) -> Self;
}

/// What [`StateTensors::map_tensors`] does to each tensor.
pub trait MapTensor {
    fn map<const D: usize>(&mut self, tensor: Tensor<D>) -> Tensor<D>;
}

macro_rules! portable {
    ($($optimizer:ty => $state:ident),* $(,)?) => {$(
        impl Optimizer for Portable<$optimizer> {
            type State<const D: usize> = Portable<$state<D>>;

            fn step<const D: usize>(
                &self,
                lr: LearningRate,
                tensor: Tensor<D>,
                grad: Tensor<D>,
                state: Option<Self::State<D>>,
            ) -> (Tensor<D>, Option<Self::State<D>>) {
                let (tensor, state) = self.0.step(lr, tensor, grad, state.map(|s| s.0));
                (tensor, state.map(Portable))
            }

            fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
                Portable(<$optimizer as Optimizer>::to_device(state.0, device))
            }
        }
    )*};
}

portable!(Sgd => SgdState, Adam => AdamState, AdamW => AdamWState, RmsProp => RmsPropState);
// Its state is burn Adam's, so a run checkpointed on WebGPU continues on the CPU and back.
#[cfg(feature = "webgpu")]
portable!(crate::kernels::gpu::FusedAdam => AdamState);

impl<const D: usize> StateTensors for AdaptiveMomentumState<D> {
    fn map_tensors(self, f: &mut impl MapTensor) -> Self {
        AdaptiveMomentumState {
            time: self.time,
            moment_1: f.map(self.moment_1),
            moment_2: f.map(self.moment_2),
            max_moment_2: self.max_moment_2.map(|t| f.map(t)),
        }
    }
}

impl<const D: usize> StateTensors for AdamState<D> {
    fn map_tensors(self, f: &mut impl MapTensor) -> Self {
        AdamState::new(self.momentum.map_tensors(f))
    }
}

impl<const D: usize> StateTensors for AdamWState<D> {
    fn map_tensors(self, f: &mut impl MapTensor) -> Self {
        AdamWState {
            momentum: self.momentum.map_tensors(f),
        }
    }
}

impl<const D: usize> StateTensors for RmsPropState<D> {
    /// Kindling's RMSprop has no momentum (`OptimizerConfig::init`): a momentum buffer, whose
    /// field burn keeps private, would be left out and caught as missing when saved.
    fn map_tensors(mut self, f: &mut impl MapTensor) -> Self {
        self.square_avg.square_avg = f.map(self.square_avg.square_avg);
        self.centered.grad_avg = self.centered.grad_avg.map(|t| f.map(t));
        self.centered.avg = f.map(self.centered.avg);
        if self.momentum.is_some() {
            mode(|mode| mode.fail("RMSprop's momentum buffer cannot be saved"));
        }
        self
    }
}

impl<const D: usize> StateTensors for SgdState<D> {
    /// burn keeps momentum's velocity private. A momentum of 1 without dampening, given a
    /// gradient of −0, hands it back bit for bit: `−0·1 + v·1 = v` for every `v`, −0 included.
    fn map_tensors(self, f: &mut impl MapTensor) -> Self {
        let momentum = self.momentum.map(|state| {
            let identity = MomentumConfig::new()
                .with_momentum(1.0)
                .with_dampening(0.0)
                .with_nesterov(false);
            let device = mode(|mode| mode.device());
            let negative_zero = Tensor::<D>::full([1; D], -0.0, &device);
            let (velocity, _) = Momentum::new(&identity).transform(negative_zero, Some(state));
            MomentumState::new(f.map(velocity))
        });
        SgdState::new(momentum)
    }
}

/// What saving a state does: read it at once (burn's way), collect its tensors, or replay the
/// copies read back.
#[derive(Default)]
enum Mode {
    #[default]
    Direct,
    Collect {
        device: Device,
        /// Per parameter (its record prefix): each state tensor, flattened, with its shape.
        found: HashMap<String, Vec<(Tensor<1>, Vec<usize>)>>,
        error: Option<String>,
    },
    Replay {
        device: Device,
        read: HashMap<String, VecDeque<TensorData>>,
        error: Option<String>,
    },
}

impl Mode {
    fn device(&self) -> Device {
        match self {
            Mode::Collect { device, .. } | Mode::Replay { device, .. } => device.clone(),
            Mode::Direct => Device::flex(),
        }
    }

    fn fail(&mut self, message: &str) {
        if let Mode::Collect { error, .. } | Mode::Replay { error, .. } = self {
            error.get_or_insert_with(|| message.to_string());
        }
    }
}

thread_local! {
    static MODE: RefCell<Mode> = const { RefCell::new(Mode::Direct) };
}

fn mode<T>(f: impl FnOnce(&mut Mode) -> T) -> T {
    MODE.with_borrow_mut(f)
}

/// Sets the mode for one pass and puts `Direct` back afterwards, even if the pass panics.
struct Pass;

impl Pass {
    fn start(new: Mode) -> Self {
        mode(|m| *m = new);
        Pass
    }

    fn finish(self) -> Mode {
        mode(std::mem::take)
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        mode(|m| *m = Mode::Direct);
    }
}

struct Collector<'a>(&'a str);

impl MapTensor for Collector<'_> {
    fn map<const D: usize>(&mut self, tensor: Tensor<D>) -> Tensor<D> {
        let shape = tensor.dims().to_vec();
        let flat = tensor.clone().reshape([-1]);
        mode(|mode| {
            if let Mode::Collect { found, .. } = mode {
                found
                    .entry(self.0.to_string())
                    .or_default()
                    .push((flat, shape));
            }
        });
        tensor
    }
}

struct Replayer<'a>(&'a str);

impl MapTensor for Replayer<'_> {
    fn map<const D: usize>(&mut self, tensor: Tensor<D>) -> Tensor<D> {
        let next = mode(|mode| match mode {
            Mode::Replay { read, .. } => read.get_mut(self.0).and_then(VecDeque::pop_front),
            _ => None,
        });
        match next {
            Some(data) => Tensor::from_data(data, &Device::flex()),
            None => {
                mode(|mode| mode.fail("a state tensor was not read back"));
                tensor
            }
        }
    }
}

impl<S: RecordState + StateTensors + Clone> RecordState for Portable<S> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        let (collecting, replaying) = mode(|mode| {
            let collecting = matches!(mode, Mode::Collect { .. });
            (collecting, matches!(mode, Mode::Replay { .. }))
        });
        if collecting {
            self.0.clone().map_tensors(&mut Collector(prefix));
        } else if replaying {
            let on_cpu = self.0.clone().map_tensors(&mut Replayer(prefix));
            // Nothing left on the device: burn's own flatten reads the CPU copies at once.
            if mode(|mode| matches!(mode, Mode::Replay { error: None, .. })) {
                on_cpu.state_flatten(prefix, out);
            }
        } else {
            self.0.state_flatten(prefix, out);
        }
    }

    /// The state is rebuilt on the CPU, whatever device asks: the next step moves it to the
    /// parameter's device. (burn asks for its default device, which in the WebGPU build is a
    /// WebGPU device that may not be the one the page opened.)
    fn state_unflatten(prefix: &str, src: &mut StateSource, _device: &Device) -> Option<Self> {
        S::state_unflatten(prefix, src, &Device::flex()).map(Portable)
    }
}

/// The optimizer's state as burn's record bytes, its tensors read back asynchronously from
/// `device` (the training device, without autodiff), so this works on WebGPU in a browser.
pub async fn to_bytes(optimizer: &ModuleOptimizer, device: &Device) -> Result<Vec<u8>, String> {
    let pass = Pass::start(Mode::Collect {
        device: device.clone(),
        found: HashMap::new(),
        error: None,
    });
    let _ = optimizer.to_record();
    let Mode::Collect { found, error, .. } = pass.finish() else {
        unreachable!("the collecting pass keeps its mode")
    };
    if let Some(error) = error {
        return Err(error);
    }
    let mut read = HashMap::new();
    for (prefix, tensors) in found {
        let mut values = VecDeque::new();
        for (flat, shape) in tensors {
            let data = (flat.into_data_async().await)
                .map_err(|e| format!("reading the optimizer's state back failed: {e:?}"))?;
            let (bytes, _, dtype) = data.into_parts();
            values.push_back(TensorData::from_bytes(bytes, shape, dtype));
        }
        read.insert(prefix, values);
    }
    let pass = Pass::start(Mode::Replay {
        device: device.clone(),
        read,
        error: None,
    });
    let record = optimizer.to_record();
    if let Mode::Replay { error: Some(e), .. } = pass.finish() {
        return Err(e);
    }
    let bytes = record.into_bytes().map_err(|e| e.to_string())?;
    Ok(bytes.to_vec())
}

/// `optimizer` (freshly built, with the settings the state was saved with) holding the state
/// in `bytes`. burn silently starts afresh any parameter whose state does not fit the
/// optimizer; that is refused here, with how much did not fit.
pub fn load(optimizer: ModuleOptimizer, bytes: &[u8]) -> Result<ModuleOptimizer, String> {
    let record = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| e.to_string())?;
    let saved = record.len();
    let optimizer = optimizer.load_record(record);
    // The states were rebuilt on the CPU: reading them here is synchronous on any device.
    let loaded = optimizer.to_record().len();
    if loaded != saved {
        return Err(format!(
            "only {loaded} of its {saved} tensors fit this optimizer (was it saved by another?)"
        ));
    }
    Ok(optimizer)
}
