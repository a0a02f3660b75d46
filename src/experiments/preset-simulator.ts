/**
 * The learned simulator of an experiment: the preset's pessimistic ensemble
 * (docs/design.md §10.2) fitted on the run's logs, with its progress bar and
 * one summary line. One implementation for a world's logs
 * (experiment-world.ts) and real KuaiRand logs (experiment-logs.ts).
 */
import type { InteractionLog, PairsAtStart } from '../environment/interaction-log.js';
import { fitSimulatorEnsemble, type EnsembleReport, type SimulatorEnsemble } from '../simulator/simulator-ensemble.js';
import type { Catalog } from '../world/catalog.js';
import type { ExperimentPreset } from './experiment-presets.js';
import type { ProgressSink } from './progress.js';

export async function fitPresetSimulator(
  log: InteractionLog,
  catalog: Catalog,
  preset: Pick<ExperimentPreset, 'simulatorFit'>,
  seed: number,
  progress: ProgressSink,
  timed: <T>(name: string, f: () => T | Promise<T>) => Promise<T>,
  /** The pairs' lifelong counters when the logs begin (a `lifelong` simulator); absent = the counts start at the logs. */
  pairsAtStart?: PairsAtStart,
): Promise<{ simulator: SimulatorEnsemble; report: EnsembleReport }> {
  const members = Number(preset.simulatorFit.members ?? 5);
  progress.start('fit-simulator', members, 'members');
  const { ensemble: simulator, report } = await timed('fit-simulator', () =>
    fitSimulatorEnsemble(log, catalog, {
      ...preset.simulatorFit,
      seed,
      ...(pairsAtStart ? { pairsAtStart } : {}),
      onMember: (k) => progress.update(k),
    }),
  );
  progress.stop();
  const random = report.random ? ` (random log ${report.random.heads.click.auc.toFixed(3)})` : '';
  const selection = report.selection ? `, selection model AUC ${report.selection.validationAuc.toFixed(3)} after ${report.selection.bestEpoch} pass(es)` : '';
  progress.log(
    `simulator: ${report.members} members, held-out click AUC ${report.standard.heads.click.auc.toFixed(3)}${random}${selection}, pessimism lambda ${report.lambda.toFixed(3)}, f_ua from ${report.pairHistory === 'lifelong' ? "the lifelong counters at the logs' start" : 'the first logged day'}, watch-time MAE ${report.standard.watchTimeMaeSec.toFixed(1)} s`,
  );
  return { simulator, report };
}
