/**
 * The rliv library API. Layers, bottom to top: numeric core, data, world,
 * simulator, mdp, agents, experiments, serving (see README "Architecture").
 *
 *   import { buildTrainingEnvironment, createAgent, TrainingRun } from 'rliv';
 */
// numeric core
export * from './numeric/index.js';
// data
export * from './data/interaction-kinds.js';
export * from './data/pair-key.js';
export * from './data/kuairand-schema.js';
export * from './data/kuairand-reader.js';
export * from './data/kuairand-log-writer.js';
export * from './data/kuairand-format-error.js';
// world
export type { Catalog } from './world/catalog.js';
export * from './world/response.js';
export * from './world/world-config.js';
export * from './world/catalog-builder.js';
export * from './world/load-catalog.js';
export * from './world/ground-truth-world.js';
// simulator
export * from './environment/trace.js';
export * from './environment/environment.js';
export * from './environment/slate-policy.js';
export * from './environment/logging-policy.js';
export * from './environment/calibration.js';
export * from './environment/log-generation.js';
export * from './simulator/learned-simulator.js';
export * from './simulator/simulator-training.js';
export * from './simulator/simulator-file.js';
export * from './environment/metrics.js';
// mdp
export * from './mdp/scri-mdp.js';
export * from './mdp/label-joiner.js';
export * from './mdp/adjacent-state-approximation.js';
export * from './mdp/replay-buffer.js';
// agents
export * from './agents/ranker.js';
export * from './agents/tower-liv.js';
export * from './agents/score-fusion.js';
export * from './agents/registry.js';
export * from './agents/exploration.js';
export * from './agents/ranker-policy.js';
export * from './agents/rliv-ua.js';
export * from './agents/rliv-ua-config.js';
export * from './agents/rliv-ua-variants.js';
export * from './agents/deepfm.js';
export * from './agents/dqn.js';
export * from './agents/cql.js';
export * from './agents/td3.js';
export * from './agents/rlur.js';
// experiments
export * from './experiments/training-loop.js';
export * from './experiments/train-environment.js';
export * from './experiments/train-presets.js';
export * from './agents/checkpoint.js';
export * from './experiments/experiment.js';
export * from './experiments/experiment-presets.js';
export * from './experiments/job-runner.js';
export * from './experiments/queue-runner.js';
export * from './experiments/queue-worker.js';
export * from './experiments/ab-test.js';
export * from './experiments/statistics.js';
// saved results, reports and run files (renderers for tools that plot or tabulate saved runs)
export * from './experiments/results.js';
export * from './experiments/results-file.js';
export * from './experiments/report-html.js';
export * from './experiments/report-markdown.js';
// (calibrationTable of the report is exported as reportCalibrationTable: the simulator's calibration has its own)
export {
  reportTables,
  table2,
  table3,
  table2World,
  table3World,
  significanceTable,
  simToRealTable,
  simVsWorldTable,
  calibrationTable as reportCalibrationTable,
  paperTable,
  settingsTable,
  PAPER_REPORTED,
  type Cell,
  type ReportTable,
} from './experiments/report-tables.js';
export * from './experiments/report-verdict.js';
export * from './experiments/findings.js';
export * from './experiments/ab-results.js';
export * from './experiments/ab-report.js';
export * from './experiments/svg-line-chart.js';
export * from './experiments/svg-bar-chart.js';
export * from './experiments/svg-point-charts.js';
export * from './experiments/run-files.js';
// serving
export * from './serving/server.js';
export * from './serving/online-system.js';
export * from './serving/pair-store.js';
export * from './serving/redis-pair-store.js';
export * from './serving/sample-stream.js';
export * from './serving/redis-sample-stream.js';
export * from './serving/model-registry.js';
export * from './serving/online-trainer.js';
