/**
 * The CLI side of {@link ProgressSink}: one cli-progress bar per phase with
 * ETA on stderr when it is a terminal; otherwise (logs, CI) a line when a
 * phase starts, at every 10 % with the ETA, and when it ends with its time.
 * Nothing at all under --quiet.
 */
import cliProgress from 'cli-progress';
import type { ProgressSink } from '../experiments/progress.js';
import type { CommandContext } from './command.js';

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function progressSink(ctx: CommandContext): ProgressSink {
  if (ctx.quiet) return { start() {}, update() {}, stop() {}, log() {} };
  let phase = '';
  let unit = '';
  let total = 0;
  let started = 0;
  let lastDecile = -1;
  let bar: cliProgress.SingleBar | undefined;
  const tty = process.stderr.isTTY === true;
  return {
    start(name, t, u) {
      phase = name;
      unit = u;
      total = Math.max(1, t);
      started = performance.now();
      lastDecile = -1;
      if (tty) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `${name.padEnd(12)} |{bar}| {percentage}% | {value}/{total} ${u} | elapsed {duration_formatted} | ETA {eta_formatted} | {note}`,
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, 0, { note: '' });
      } else {
        ctx.log(`${name}: ${t} ${u}`);
      }
    },
    update(done, note) {
      if (bar) {
        bar.update(done, { note: note ?? '' });
        return;
      }
      const decile = Math.floor((10 * done) / total);
      if (decile > lastDecile && decile < 10) {
        lastDecile = decile;
        const elapsed = (performance.now() - started) / 1000;
        const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
        ctx.log(
          `${phase}: ${done}/${total} ${unit} (${decile * 10} %), elapsed ${formatSeconds(elapsed)}, ETA ${formatSeconds(eta)}${note ? ` — ${note}` : ''}`,
        );
      }
    },
    stop() {
      const elapsed = (performance.now() - started) / 1000;
      if (bar) {
        bar.stop();
        bar = undefined;
      }
      ctx.log(`${phase}: done in ${formatSeconds(elapsed)}`);
    },
    log(message) {
      if (bar) {
        // Keep the bar intact: print above it.
        process.stderr.write('\r\x1b[2K' + message + '\n');
        return;
      }
      ctx.log(message);
    },
  };
}
