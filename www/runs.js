// Run comparison: each finished run's record (the CLI's JSON-lines format) and its curve, kept
// in IndexedDB; a table of them with what each spent, and one drawn on the chart beside the
// current run.
import { addRun, clearRuns, listRuns } from './store.js';
import { energy, flops } from './cost.js';

const $ = (id) => document.getElementById(id);
const cell = (tag, text, className = '') => Object.assign(document.createElement(tag), { textContent: text, className });

export class RunList {
  constructor({ chart, download, formatTime }) {
    Object.assign(this, { chart, formatTime, runs: [], shown: null });
    $('runs-download').onclick = () => download(this.runs.map(({ record }) => `${JSON.stringify(record)}\n`).join(''),
                                                'application/x-ndjson', 'kindling-runs.jsonl');
    $('runs-clear').onclick = async () => {
      await clearRuns();
      this.shown = null;
      chart.showRun(null);
      await this.show();
    };
    this.show();
  }

  /** Keeps a finished run (its record as JSON) with the chart's curve, and lists it. */
  async keep(record) {
    try {
      await addRun({ record: JSON.parse(record), curve: this.chart.snapshot() });
      await this.show();
    } catch (e) {
      $('status').textContent += ` · run not kept in this browser: ${e.message ?? e}`;
    }
  }

  async show() {
    try { this.runs = await listRuns(); } catch { this.runs = []; }
    const header = document.createElement('tr');
    header.append(...['#', 'finished', 'recipe', 'device', 'epochs', 'accuracy', 'time', 'compute', 'energy',
                      'to 99%', 'chart'].map((t) => cell('th', t)));
    const rows = this.runs.map(({ record: r }, i) => {
      const tr = document.createElement('tr');
      const pick = Object.assign(document.createElement('input'), { type: 'radio', name: 'overlay', checked: this.shown === i });
      pick.setAttribute('aria-label', `draw run ${i + 1} on the chart`);
      pick.onchange = () => this.overlay(i);
      const picked = cell('td', '');
      picked.append(pick);
      const to99 = r.cost?.milestones.find((m) => m.accuracy >= 0.99);
      tr.className = this.shown === i ? 'overlaid' : '';
      tr.append(cell('td', i + 1), cell('td', new Date(r.finished_at * 1000).toLocaleString()), cell('td', r.recipe),
                cell('td', r.device), cell('td', r.epochs, 'number'),
                // An autoencoder has no accuracy: its test reconstruction error instead.
                r.test_accuracy == null ? cell('td', `error ${r.test_loss.toFixed(4)}`, 'number')
                  : cell('td', `${(r.test_accuracy * 100).toFixed(2)}%`, 'number'),
                cell('td', this.formatTime(r.seconds), 'number'),
                cell('td', r.cost ? flops(r.cost.flops) : '—', 'number'),
                cell('td', r.cost ? energy(r.cost.estimate) : '—', 'number'),
                cell('td', to99 ? energy(to99.estimate) : '—', 'number'), picked);
      return tr;
    });
    $('runs-table').replaceChildren(header, ...rows);
    if (!this.runs.length) $('runs-table').replaceChildren(cell('caption', 'No finished runs yet.'));
    $('runs-download').disabled = $('runs-clear').disabled = !this.runs.length;
  }

  overlay(i) {
    this.shown = i;
    this.chart.showRun(this.runs[i].curve);
    for (const [j, tr] of [...$('runs-table').rows].slice(1).entries()) tr.className = j === i ? 'overlaid' : '';
  }
}
