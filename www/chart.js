// The live loss plot: training loss per step (raw and smoothed), the regularization penalty
// added to it (when there is one), test loss and accuracy per epoch on a second axis, and in
// grey a finished run picked for comparison. uPlot (vendored by build.sh) draws it; at most
// ~1,500 points a series and one redraw per animation frame keep it smooth over a whole run.
import uPlot from './vendor/uPlot.esm.js';

const MAX_POINTS = 1500;
const SMOOTHING = 0.98;   // exponential moving average of the step loss, bias-corrected
const LIVE = 6;           // x and the live run's five series; the picked run's two follow
const SNAPSHOT_POINTS = 300;

export class LossChart {
  constructor(element) {
    this.element = element;
    const options = this.options();
    this.empty = () => options.series.slice(0, LIVE).map(() => []);   // x, then one array per series
    this.overlay = null;   // the picked run: [steps, smoothed loss, test accuracy]
    this.plot = new uPlot(options, [...this.empty(), [], []], element);
    new ResizeObserver(() => this.plot.setSize(this.size())).observe(element);
    this.reset();
  }

  size() {
    return { width: Math.max(280, this.element.clientWidth), height: 300 };
  }

  options() {
    return {
      ...this.size(),
      scales: {
        x: { time: false },
        loss: { auto: true },
        // 80–100% once the model is good, lower while it is not.
        accuracy: { range: (_, min) => [Math.min(80, Math.floor((min ?? 80) / 10) * 10), 100] },
      },
      axes: [
        { label: 'training step' },
        { scale: 'loss', label: 'loss (cross-entropy)' },
        { scale: 'accuracy', side: 1, label: 'test accuracy (%)', grid: { show: false } },
      ],
      series: [
        {},
        { label: 'step loss', scale: 'loss', stroke: 'rgba(217,72,15,0.25)', width: 1 },
        { label: 'smoothed', scale: 'loss', stroke: '#d9480f', width: 2 },
        { label: 'test loss', scale: 'loss', stroke: '#1c7ed6', width: 2, spanGaps: true,
          points: { show: true, size: 7 } },
        { label: 'test accuracy', scale: 'accuracy', stroke: '#2b8a3e', width: 2, spanGaps: true,
          points: { show: true, size: 7 }, value: (_, v) => (v == null ? '–' : `${v.toFixed(2)}%`) },
        { label: 'L1 + L2 penalty', scale: 'loss', stroke: '#7048e8', width: 1.5, dash: [6, 4] },
        { label: 'picked run: smoothed', scale: 'loss', stroke: '#868e96', width: 2, dash: [3, 3], spanGaps: true },
        { label: 'picked run: test accuracy', scale: 'accuracy', stroke: '#adb5bd', width: 1.5, spanGaps: true,
          points: { show: true, size: 5 }, value: (_, v) => (v == null ? '–' : `${v.toFixed(2)}%`) },
      ],
    };
  }

  reset() {
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

  // The finished run's smoothed loss (≤ 300 points) and test accuracy (0–1) per epoch, to keep.
  snapshot() {
    const [x, , smoothed, , accuracy] = this.data;
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
    this.push(step, loss, this.smoothed, null, null, penalty > 0 ? penalty : null);
  }

  addEpoch(loss, accuracy) {
    const x = this.data[0];
    if (x.length && x[x.length - 1] === this.steps) {
      this.data[3][x.length - 1] = loss;
      this.data[4][x.length - 1] = accuracy * 100;
      this.redraw();
    } else {
      this.push(this.steps, null, this.smoothed, loss, accuracy * 100, null);
    }
  }

  push(...values) {
    values.forEach((v, i) => this.data[i].push(v));
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
