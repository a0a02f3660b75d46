/**
 * Worker thread of the experiment: rebuilds the run's world from its
 * description (on real logs: only the catalog, and the stand-in behaviour
 * policy, see instrument.ts) and loads the fitted simulator from its file, then runs the
 * jobs (experiment-job.ts) the main thread sends, one at a time, reporting
 * each unit of progress. The main side is job-thread.ts. Messages:
 *   in:  {type: 'job', job: ExperimentJob} | {type: 'exit'}
 *   out: {type: 'ready'} | {type: 'unit', note} | {type: 'done', result} | {type: 'error', message, stack, fatal}
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSimulatorEnsemble } from '../simulator/simulator-ensemble.js';
import type { WorldDescription } from '../environment/world-description.js';
import type { EnvironmentOptions } from '../environment/environment.js';
import { jobLabel, runJob, type ExperimentJob, type JobSetup } from './experiment-job.js';
import { rebuildJobWorld, withHistoryFile } from './instrument.js';
import type { TrainPreset } from './train-presets.js';

/** What a worker thread is started with: everything of a {@link JobSetup} that is not rebuilt from it. */
export interface WorkerData {
  /** The world; on real logs (`logs` set) only its catalog's tables and seed are used. */
  description: WorldDescription;
  /** Set on real logs: there is no world, and offline agents learn from the stand-in behaviour policy over these standard-log exposures per item. */
  logs?: { itemExposures: number[] };
  simulatorPath: string;
  /** The logs every environment starts after, and the world's traffic before them (history.bin, instrument.ts), when the run has them. */
  historyPath?: string;
  environment: Partial<EnvironmentOptions>;
  train: TrainPreset;
  worldRounds: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('experiment-worker.ts must run as a worker thread');
  const data = workerData as WorkerData;
  const { catalog, groundTruth, loggingPolicy } = await rebuildJobWorld(data);
  const simulator = loadSimulatorEnsemble(data.simulatorPath, catalog);
  const { environment, worldHistory } = withHistoryFile(catalog, data.environment, simulator.pairHistory, data.historyPath);
  const setup: JobSetup = {
    catalog,
    simulator,
    groundTruth,
    environment,
    ...(worldHistory ? { worldHistory } : {}),
    loggingPolicy,
    train: data.train,
    worldRounds: data.worldRounds,
    agentConfigs: {}, // every job carries its own config
  };
  port.on('message', (msg: { type: 'job'; job: ExperimentJob } | { type: 'exit' }) => {
    if (msg.type === 'exit') {
      port.close();
      return;
    }
    try {
      const result = runJob(setup, msg.job, (note) => port.postMessage({ type: 'unit', note }));
      port.postMessage({ type: 'done', result });
    } catch (err) {
      const e = err as Error;
      port.postMessage({ type: 'error', message: `${jobLabel(msg.job)}: ${e.message}`, stack: e.stack, fatal: false });
    }
  });
  port.postMessage({ type: 'ready' });
}

main().catch((err: Error) => {
  parentPort?.postMessage({ type: 'error', message: err.message, stack: err.stack, fatal: true });
});
