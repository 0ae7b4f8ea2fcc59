// The live loss plot: training loss per step (raw and smoothed), the regularization penalty
// added to it (when there is one), test loss and accuracy per epoch on a second axis (for an
// autoencoder, its test reconstruction error and no accuracy), and in
// grey a finished run picked for comparison. uPlot (vendored by build.sh) draws it; at most
// ~1,500 points a series and one redraw per animation frame keep it smooth over a whole run.
import uPlot from './vendor/uPlot.esm.js';

const MAX_POINTS = 1500;
const SMOOTHING = 0.98;   // exponential moving average of the step loss, bias-corrected
const SNAPSHOT_POINTS = 300;

// What a run's curves mean: a classifier's cross-entropy and test accuracy, or an autoencoder's
// reconstruction error, which is its loss on the test set (it has no classes, so no accuracy).
const TASKS = {
  classifier: { loss: 'loss (cross-entropy)', test: 'test loss', accuracy: true },
  autoencoder: { loss: 'loss (mean squared error per pixel)', test: 'test reconstruction error', accuracy: false },
};
const percent = (_, v) => (v == null ? '–' : `${v.toFixed(2)}%`);

export class LossChart {
  constructor(element) {
    this.element = element;
    this.overlay = null;   // the picked run: [steps, smoothed loss, test accuracy]
    new ResizeObserver(() => this.plot.setSize(this.size())).observe(element);
    this.reset();
  }

  size() {
    return { width: Math.max(280, this.element.clientWidth), height: 300 };
  }

  // The plot for a task: its series (`fields`, in order after x) and their labels.
  build(task) {
    this.task = task;
    const { loss, test, accuracy } = TASKS[task];
    this.fields = ['x', 'loss', 'smoothed', 'test', ...(accuracy ? ['accuracy'] : []), 'penalty'];
    const series = {
      loss: { label: 'step loss', scale: 'loss', stroke: 'rgba(217,72,15,0.25)', width: 1 },
      smoothed: { label: 'smoothed', scale: 'loss', stroke: '#d9480f', width: 2 },
      test: { label: test, scale: 'loss', stroke: '#1c7ed6', width: 2, spanGaps: true, points: { show: true, size: 7 } },
      accuracy: { label: 'test accuracy', scale: 'accuracy', stroke: '#2b8a3e', width: 2, spanGaps: true,
                  points: { show: true, size: 7 }, value: percent },
      penalty: { label: 'L1 + L2 penalty', scale: 'loss', stroke: '#7048e8', width: 1.5, dash: [6, 4] },
    };
    const options = {
      ...this.size(),
      scales: {
        x: { time: false },
        loss: { auto: true },
        // 80–100% once the model is good, lower while it is not.
        accuracy: { range: (_, min) => [Math.min(80, Math.floor((min ?? 80) / 10) * 10), 100] },
      },
      axes: [
        { label: 'training step' },
        { scale: 'loss', label: loss },
        // An autoencoder's run has no accuracy axis; a picked classifier's run still draws on its scale.
        { scale: 'accuracy', side: 1, label: 'test accuracy (%)', grid: { show: false }, show: accuracy },
      ],
      series: [
        {},
        ...this.fields.slice(1).map((name) => series[name]),
        { label: 'picked run: smoothed', scale: 'loss', stroke: '#868e96', width: 2, dash: [3, 3], spanGaps: true },
        { label: 'picked run: test accuracy', scale: 'accuracy', stroke: '#adb5bd', width: 1.5, spanGaps: true,
          points: { show: true, size: 5 }, value: percent },
      ],
    };
    this.plot?.destroy();
    this.plot = new uPlot(options, [...this.empty(), [], []], this.element);
  }

  empty() {
    return this.fields.map(() => []);
  }

  // A live series by name (undefined when this task has none).
  series(name) {
    return this.data[this.fields.indexOf(name)];
  }

  /** No curves; `network` ('cnn', 'rnn', 'autoencoder') says what the next run's mean. */
  reset(network = 'cnn') {
    const task = network === 'autoencoder' ? 'autoencoder' : 'classifier';
    if (task !== this.task) this.build(task);
    this.data = this.empty();
    this.average = 0;
    this.smoothed = null;
    this.steps = 0;
    this.count = 0;
    this.plot.setData(this.joined());
  }

  // Draws a finished run's curve (from `snapshot`) in grey beside the live one; null removes it.
  showRun(curve) {
    this.overlay = curve && uPlot.join([[curve.steps, curve.loss],
                                        [curve.epochSteps, curve.accuracy.map((a) => a * 100)]]);
    this.plot.setData(this.joined());
  }

  // The live data with the picked run's series, aligned on the step axis.
  joined() {
    if (this.overlay) return uPlot.join([this.data, this.overlay]);
    const none = this.data[0].map(() => null);
    return [...this.data, none, none];
  }

  // The finished run's smoothed loss (≤ 300 points) and test accuracy (0–1) per epoch, to keep
  // (an autoencoder's run has none).
  snapshot() {
    const [x, smoothed] = [this.series('x'), this.series('smoothed')];
    const accuracy = this.series('accuracy') ?? [];
    const stride = Math.max(1, Math.ceil(x.length / SNAPSHOT_POINTS));
    const kept = x.map((_, i) => i).filter((i) => smoothed[i] != null && (i % stride === 0 || i === x.length - 1));
    const epochs = x.map((_, i) => i).filter((i) => accuracy[i] != null);
    return { steps: kept.map((i) => x[i]), loss: kept.map((i) => smoothed[i]),
             epochSteps: epochs.map((i) => x[i]), accuracy: epochs.map((i) => accuracy[i] / 100) };
  }

  // `penalty` is the L1 + L2 term added to the loss, 0 without regularization (not drawn).
  addStep(step, loss, totalSteps, penalty = 0) {
    // Divided by 1 − βⁿ so the first steps are not pulled towards the average's start at 0.
    this.count += 1;
    this.average = SMOOTHING * this.average + (1 - SMOOTHING) * loss;
    this.smoothed = this.average / (1 - SMOOTHING ** this.count);
    this.steps = step;
    const stride = Math.max(1, Math.ceil(totalSteps / MAX_POINTS));
    if (step % stride !== 0 && step !== totalSteps) return;
    this.push({ x: step, loss, smoothed: this.smoothed, penalty: penalty > 0 ? penalty : null });
  }

  /** An evaluation: the test loss (an autoencoder's reconstruction error) and accuracy (0–1, or null). */
  addEpoch(loss, accuracy) {
    const x = this.series('x');
    const percentage = accuracy == null ? null : accuracy * 100;
    if (x.length && x[x.length - 1] === this.steps) {
      this.series('test')[x.length - 1] = loss;
      if (this.series('accuracy')) this.series('accuracy')[x.length - 1] = percentage;
      this.redraw();
    } else {
      this.push({ x: this.steps, smoothed: this.smoothed, test: loss, accuracy: percentage });
    }
  }

  push(values) {
    this.fields.forEach((name, i) => this.data[i].push(values[name] ?? null));
    this.redraw();
  }

  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plot.setData(this.joined());
    });
  }
}
