/**
 * Checkpoint size of each baseline at a preset's scale: the agent observes
 * as many sessions as a full `rliv train` run of the preset collects
 * (epochs x sessionsPerEpoch, here from the world's logging policy), takes
 * one training step, and its save() is split into the params-io agent state
 * and the replay snapshots (agent-checkpoint.ts).
 *
 *   node --import tsx bench/baseline-checkpoint-size.ts [smoke|quick|paper]
 */
import { createAgent } from '../src/agents/registry.js';
import { buildTrainingEnvironment } from '../src/experiments/train-environment.js';
import { trainPreset, type TrainPresetName } from '../src/experiments/train-presets.js';
import { Rng } from '../src/numeric/rng.js';
import type { SessionTrace } from '../src/environment/trace.js';

const presetName = (process.argv[2] ?? 'quick') as TrainPresetName;
const preset = trainPreset(presetName);
const built = await buildTrainingEnvironment({ kind: 'world', scale: presetName, seed: 1 }, (line) => process.stderr.write(`${line}\n`));
const rng = new Rng(7);
const sessions: SessionTrace[] = [];
for (let e = 0; e < preset.epochs; e++) {
  const users = new Set<number>();
  while (users.size < Math.min(preset.sessionsPerEpoch, built.catalog.numUsers)) users.add(rng.int(built.catalog.numUsers));
  sessions.push(...built.env.runSessions([...users], built.env.loggingPolicy(rng.fork(`epoch-${e}`))));
}
const requests = sessions.reduce((s, t) => s + t.requests.length, 0);
const mb = (n: number): string => (n / 1e6).toFixed(2);
console.log(`preset ${presetName}: ${sessions.length} sessions, ${requests} requests observed`);
for (const name of ['RankingModel', 'CQL', 'DQN', 'TD3', 'RLUR']) {
  const agent = createAgent(name, { catalog: built.catalog, seed: 1 }, { batchSize: preset.batchSize });
  agent.observe(sessions);
  agent.train(1);
  const bytes = agent.save();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(12, true);
  const lengths: number[] = [];
  for (let k = 0, off = 16; k < count; k++) {
    lengths.push(view.getUint32(off, true));
    off += 4 + lengths[k]!;
  }
  const replay = lengths.slice(1).reduce((s, x) => s + x, 0);
  console.log(
    `${name.padEnd(12)} total ${mb(bytes.length)} MB = agent state ${mb(lengths[0]!)} MB + ${count - 1} replay snapshot(s) ${mb(replay)} MB (${(replay / requests).toFixed(0)} B per stored request)`,
  );
}
