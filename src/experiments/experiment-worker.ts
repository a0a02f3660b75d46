/**
 * Worker thread of the experiment: rebuilds the run's world from its
 * description and loads the fitted simulator from its file, then runs the
 * (model, seed) jobs the main thread sends, one at a time, reporting each
 * epoch for the progress bar. Messages:
 *   in:  {type: 'job', model, seed} | {type: 'exit'}
 *   out: {type: 'ready'} | {type: 'unit', note} | {type: 'done', model, seed, result} | {type: 'error', message, stack}
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadSimulatorEnsemble } from '../simulator/simulator-ensemble.js';
import { buildDescribedWorld, type WorldDescription } from '../simulator/world-description.js';
import type { EnvironmentOptions } from '../simulator/environment.js';
import { runModelSeed, type JobSetup } from './experiment-job.js';
import { loggingPolicyFactory } from './experiment-world.js';
import type { TrainPreset } from './train-presets.js';

/** What the main thread hands each worker. */
export interface WorkerData {
  description: WorldDescription;
  simulatorPath: string;
  environment: Partial<EnvironmentOptions>;
  train: TrainPreset;
  worldRounds: number;
  agentConfigs: Record<string, Record<string, unknown>>;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('experiment-worker.ts must run as a worker thread');
  const data = workerData as WorkerData;
  const { catalog, world } = await buildDescribedWorld(data.description);
  const setup: JobSetup = {
    catalog,
    simulator: loadSimulatorEnsemble(data.simulatorPath, catalog),
    groundTruth: world,
    environment: data.environment,
    loggingPolicy: loggingPolicyFactory(catalog, world),
    train: data.train,
    worldRounds: data.worldRounds,
    agentConfigs: data.agentConfigs,
  };
  port.on('message', (msg: { type: 'job'; model: string; seed: number } | { type: 'exit' }) => {
    if (msg.type === 'exit') {
      port.close();
      return;
    }
    try {
      const result = runModelSeed(setup, msg.model, msg.seed, (note) => port.postMessage({ type: 'unit', note }));
      port.postMessage({ type: 'done', model: msg.model, seed: msg.seed, result });
    } catch (err) {
      const e = err as Error;
      port.postMessage({ type: 'error', message: `${msg.model} seed ${msg.seed}: ${e.message}`, stack: e.stack });
    }
  });
  port.postMessage({ type: 'ready' });
}

main().catch((err: Error) => {
  parentPort?.postMessage({ type: 'error', message: err.message, stack: err.stack });
});
