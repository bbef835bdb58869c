/**
 * Training progress: a live bar (loss, lr, rows/s) on a terminal, plain periodic lines when
 * output is a pipe or a CI log, nothing with --quiet.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { EpochRecord, TrainerCallbacks } from '../train/trainer.js';

/** The validation metrics an epoch line shows: accuracy, f1 (positive class) and auc for binary targets, accuracy and macroF1 for multi-class, rmse for regression. */
const SHOWN = ['accuracy', 'f1', 'macroF1', 'auc', 'rmse'];

function validSummary(valid: EpochRecord['valid']): string {
  if (!valid) return '';
  const many = Object.keys(valid).length > 1;
  return Object.entries(valid).map(([t, ms]) => {
    // binary targets show f1 (of the positive class) and not macroF1
    const keys = SHOWN.filter((k) => k in ms && !(k === 'macroF1' && 'f1' in ms));
    return `  ${many ? `${t} ` : 'valid '}${keys.map((k) => `${k} ${ms[k] === null || !Number.isFinite(ms[k]) ? '—' : ms[k].toFixed(4)}`).join(' ')}`;
  }).join('');
}

export function progressCallbacks(options: { quiet?: boolean; epochs: number; tty?: boolean; log?: (line: string) => void }): TrainerCallbacks {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (options.quiet) return {};
  const tty = options.tty ?? Boolean(process.stderr.isTTY);
  let bar: SingleBar | null = null;
  let t0 = Date.now(), lastLine = Date.now(), lossSum = 0, n = 0;
  return {
    onStep: (s) => {
      if (s.rows <= 0) return;
      if (n === 0) t0 = Date.now();
      lossSum += s.loss; n++;
      const rate = s.rows / Math.max(1e-3, (Date.now() - t0) / 1000);
      if (tty) {
        if (!bar) {
          bar = new SingleBar({ format: `epoch ${s.epoch}/${options.epochs} [{bar}] {value}/{total} rows | loss {loss} | lr {lr} | {rate} rows/s`, hideCursor: true, clearOnComplete: true, stream: process.stderr }, Presets.shades_classic);
          bar.start(s.epochRows, 0, { loss: '—', lr: '—', rate: '—' });
        }
        bar.update(s.rows, { loss: (lossSum / n).toFixed(4), lr: s.lr.toExponential(2), rate: rate.toFixed(0) });
      } else if (Date.now() - lastLine > 10_000) {
        lastLine = Date.now();
        log(`epoch ${s.epoch}/${options.epochs}: ${s.rows}/${s.epochRows} rows, loss ${(lossSum / n).toFixed(4)}, ${rate.toFixed(0)} rows/s`);
      }
    },
    onEpochEnd: (r) => {
      if (bar) { bar.stop(); bar = null; }
      lossSum = 0; n = 0;
      log(`epoch ${r.epoch}/${options.epochs}  train loss ${r.trainLoss.toFixed(4)}  valid loss ${r.validLoss?.toFixed(4) ?? '—'}${validSummary(r.valid)}  lr ${r.lr.toExponential(2)}  ${r.seconds.toFixed(1)} s${r.best ? '  (best)' : ''}`);
    },
  };
}

/** `attnkit encode`'s progress: a bar of records on a terminal (the file's share when known), a line per 100k records otherwise. */
export function encodeProgress(): { update: (rows: number, fraction: number | null) => void; stop: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  let bar: SingleBar | null = null, lastLogged = 0;
  return {
    update: (rows) => {
      if (tty) {
        if (!bar) {
          bar = new SingleBar({ format: 'encoding {value} records', hideCursor: true, clearOnComplete: true, stream: process.stderr }, Presets.shades_classic);
          bar.start(0, 0);
        }
        bar.update(rows);
      } else if (rows - lastLogged >= 100_000) {
        lastLogged = rows;
        process.stderr.write(`encoded ${rows} records\n`);
      }
    },
    stop: () => { if (bar) { bar.stop(); bar = null; } },
  };
}
