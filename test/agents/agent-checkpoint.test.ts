/**
 * One checkpoint container for every agent (agent-checkpoint.ts, RLIVAGNT):
 * every registered agent saves in it, RLIV-UA's former RLIVUA01 bytes and
 * the baselines' former RLIVBASE bytes still load (and saving converts
 * them), foreign bytes are refused with a message naming the formats that
 * load; params-io's header reading on its own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentCheckpointError, agentCheckpointSections, AGENT_CHECKPOINT_MAGIC } from '../../src/agents/agent-checkpoint.js';
import { createDqn } from '../../src/agents/dqn.js';
import { AGENTS, createAgent } from '../../src/agents/registry.js';
import { prepareRlivUaParameters, RlivUaAgent } from '../../src/agents/rliv-ua.js';
import { crc32, ParamsFormatError, readParamsHeader, readParamsMeta, serializeParams } from '../../src/numeric/params-io.js';
import { Param } from '../../src/numeric/param.js';
import { familiarityCatalog, familiarityTraces, freshRequest } from './rliv-ua-fixtures.js';
import { tinySessions, tinyWorld } from '../helpers/tiny-world.js';

const catalog = familiarityCatalog(12);
const traces = familiarityTraces(catalog, { sessionsPerUser: 2 });
const SMALL = { embeddingRows: 1024, batchSize: 64, minReplaySize: 64, replayCapacity: 5000 };

function trainedRlivUa(seed: number): RlivUaAgent {
  const agent = new RlivUaAgent({ catalog, seed }, SMALL);
  agent.observe(traces);
  agent.train(3);
  return agent;
}

function scores(agent: { score(r: ReturnType<typeof freshRequest>, out: Float32Array): void }): number[] {
  const r = freshRequest(catalog, 3);
  const out = new Float32Array(r.candidates.length);
  agent.score(r, out);
  return [...out];
}

/** RLIV-UA's former container, written as the agent wrote it before the shared container: magic, length + state, length + replay, CRC-32. */
function legacyRlivUaBytes(state: Uint8Array, replay: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + state.length + 4 + replay.length + 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = 'RLIVUA01'.charCodeAt(i);
  view.setUint32(8, state.length, true);
  out.set(state, 12);
  view.setUint32(12 + state.length, replay.length, true);
  out.set(replay, 16 + state.length);
  view.setUint32(out.length - 4, crc32(out, 0, out.length - 4), true);
  return out;
}

/** A params file with this header text and `payloadBytes` zero bytes of payload (and a valid CRC-32). */
function paramsFile(headerJson: string, payloadBytes: number): Uint8Array {
  const header = new TextEncoder().encode(headerJson);
  const start = (16 + header.length + 3) & ~3;
  const out = new Uint8Array(start + payloadBytes + 4);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('RLIVPARM'), 0);
  view.setUint32(8, 1, true);
  view.setUint32(12, header.length, true);
  out.set(header, 16);
  view.setUint32(out.length - 4, crc32(out, 0, out.length - 4), true);
  return out;
}

function magicOf(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(0, 8));
}

test('every registered agent saves in the one container: RLIVAGNT, agent state first, then its sample stores', () => {
  const world = tinyWorld();
  const sessions = tinySessions(world, 1, 5);
  for (const name of Object.keys(AGENTS)) {
    const agent = createAgent(name, { catalog: world.catalog, seed: 3 }, { batchSize: 16, embeddingRows: 2048 });
    agent.observe(sessions);
    const bytes = agent.save();
    assert.equal(magicOf(bytes), AGENT_CHECKPOINT_MAGIC, name);
    const sections = agentCheckpointSections(bytes, name);
    assert.equal(magicOf(sections[0]!), 'RLIVPARM', `${name}: section 0 is the params-io agent state`);
    assert.ok(sections.length >= 2, `${name} checkpoints at least one sample store`);
    assert.equal(readParamsMeta(sections[0]!, name) !== null, true);
  }
});

test('RLIV-UA: the former RLIVUA01 bytes load (full, parameters-only and prepared), and saving converts them', () => {
  const a = trainedRlivUa(4);
  const current = a.save();
  const [state, replay] = agentCheckpointSections(current, 'test');
  const legacy = legacyRlivUaBytes(state!, replay!);

  const b = new RlivUaAgent({ catalog, seed: 4 }, SMALL);
  b.load(legacy);
  assert.deepEqual(scores(b), scores(a));
  assert.equal(b.replay.size, a.replay.size);
  assert.ok(Buffer.from(b.save()).equals(Buffer.from(current)), 'loading the old bytes and saving gives exactly the new format');

  const served = new RlivUaAgent({ catalog, seed: 4 }, SMALL);
  served.loadParameters(legacy);
  assert.deepEqual(scores(served), scores(a));
  const prepared = prepareRlivUaParameters(legacy);
  const viaPrepared = new RlivUaAgent({ catalog, seed: 4 }, SMALL);
  viaPrepared.applyPreparedParameters(prepared);
  assert.deepEqual(scores(viaPrepared), scores(a));
  assert.deepEqual(scores(RlivUaAgent.fromCheckpoint(legacy, { catalog, seed: 0 })), scores(a));

  // the old container's checksum is still verified
  const corrupt = legacy.slice();
  corrupt[legacy.length - 40]! ^= 0x01;
  const c = trainedRlivUa(5);
  const before = c.save();
  assert.throws(() => c.load(corrupt), /checksum/);
  assert.ok(Buffer.from(c.save()).equals(Buffer.from(before)), 'refused bytes changed the agent');
});

test('baselines: the former RLIVBASE bytes (same layout, other magic) load, and saving converts them', () => {
  const world = tinyWorld();
  const ctx = { catalog: world.catalog, seed: 7 };
  const a = createDqn(ctx, { batchSize: 16, embeddingRows: 2048 });
  a.observe(tinySessions(world, 1, 6));
  a.train(3);
  const current = a.save();
  const legacy = current.slice();
  for (let i = 0; i < 8; i++) legacy[i] = 'RLIVBASE'.charCodeAt(i);
  new DataView(legacy.buffer).setUint32(legacy.length - 4, crc32(legacy, 0, legacy.length - 4), true);
  const b = createDqn(ctx, { batchSize: 16, embeddingRows: 2048 });
  b.load(legacy);
  assert.ok(Buffer.from(b.save()).equals(Buffer.from(current)));
});

test('foreign, future and miscounted containers are refused with a message that says what loads, and change nothing', () => {
  const a = trainedRlivUa(6);
  const bytes = a.save();
  const before = scores(a);
  const foreign = bytes.slice();
  foreign.set(new TextEncoder().encode('NOTRLIV!'), 0);
  assert.throws(
    () => a.load(foreign),
    (e: unknown) =>
      e instanceof AgentCheckpointError &&
      /not an agent checkpoint \(magic "NOTRLIV!", expected "RLIVAGNT"; the older RLIVBASE, RLIVUA01 and RLIVPARM formats load too\)/.test(
        (e as Error).message,
      ),
  );
  const future = bytes.slice();
  const view = new DataView(future.buffer);
  view.setUint32(8, 2, true);
  view.setUint32(future.length - 4, crc32(future, 0, future.length - 4), true);
  assert.throws(() => a.load(future), /format version 2, this build reads 1/);
  const extra = bytes.slice();
  const ev = new DataView(extra.buffer);
  ev.setUint32(12, 3, true);
  ev.setUint32(extra.length - 4, crc32(extra, 0, extra.length - 4), true);
  assert.throws(() => a.load(extra), /checkpoint has 2 sample stores, this agent keeps 1/);
  assert.deepEqual(scores(a), before);
});

test('params-io header reading: names, shapes and meta without the payload; malformed headers are refused', () => {
  const params = [new Param({ name: 'w', shape: [3, 2] }), new Param({ name: 'b', shape: [2] })];
  params[0]!.value.set([1, 2, 3, 4, 5, 6]);
  const bytes = serializeParams(params, { step: 9 });
  const header = readParamsHeader(bytes, 'p');
  assert.deepEqual(header.params, [
    { name: 'w', shape: [3, 2] },
    { name: 'b', shape: [2] },
  ]);
  assert.deepEqual(header.meta, { step: 9 });
  assert.equal(header.floats, 8);
  assert.equal(new DataView(bytes.buffer).getFloat32(header.payloadStart + 4 * 5, true), 6);
  // a corrupted payload does not stop the header from being read (the checksum is the loader's job)
  const payloadFlip = bytes.slice();
  payloadFlip[header.payloadStart + 1]! ^= 0xff;
  assert.deepEqual(readParamsMeta(payloadFlip, 'p'), { step: 9 });
  assert.throws(
    () => readParamsHeader(bytes.subarray(0, bytes.length - 4), 'p'),
    (e: unknown) => e instanceof ParamsFormatError && /payload is 28 bytes, the header describes 32/.test((e as Error).message),
  );
  assert.throws(
    () => readParamsHeader(paramsFile('{"params":[{"name":"x","shape":[-1]}],"meta":null}', 0), 'q'),
    /q: malformed header entry \{"name":"x","shape":\[-1\]\}/,
  );
  assert.throws(() => readParamsHeader(paramsFile('{"params":[{"name":"x","shape":[2]}]', 8), 'q'), /q: header is not valid JSON/);
  assert.throws(
    () => readParamsHeader(paramsFile('{"params":[{"name":"x","shape":[1000000000]}],"meta":null}', 8), 'q'),
    /q: payload is 8 bytes, the header describes 4000000000/,
  );
  assert.throws(() => readParamsHeader(new TextEncoder().encode('RLIVPARX and then some more bytes'), 'r'), /r: not an rliv params file/);
});
