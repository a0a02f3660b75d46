/**
 * Worker-thread side of the hot reload (model-loader.ts): everything that
 * reads every byte of a checkpoint — the pointer's SHA-256, the checkpoint's
 * own SHA-256 and decoding, and for RLIV-UA the parameter section's CRC-32
 * and float decoding — runs here, so the serving event loop only copies the
 * ready parameters in. Replies { ok: true, loaded } with the decoded
 * parameters' buffers transferred, or { ok: false, message }.
 */
import { parentPort } from 'node:worker_threads';
import { prepareRlivUaParameters } from '../agents/rliv-ua.js';
import { decodeModelCheckpoint, ModelLoadError, ModelRegistry, type RegistryPointer } from './model-registry.js';
import type { LoadReply, LoadRequest } from './model-loader.js';

parentPort!.on('message', (req: LoadRequest) => {
  let reply: LoadReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const bytes = new ModelRegistry(req.dir).readBytes(req.pointer as RegistryPointer);
    const source = `model version ${req.pointer.version}`;
    const { ckpt, model } = decodeModelCheckpoint(bytes, source);
    let prepared = null;
    let modelBytes: Uint8Array | null = null;
    if (ckpt.agent.startsWith('RLIV-UA')) {
      try {
        prepared = prepareRlivUaParameters(model);
      } catch (err) {
        throw new ModelLoadError(`${source}: cannot build ${ckpt.agent}: ${(err as Error).message}`);
      }
      for (const t of prepared.tensors) transfer.push(t.values.buffer as ArrayBuffer);
    } else {
      modelBytes = model.slice();
      transfer.push(modelBytes.buffer as ArrayBuffer);
    }
    reply = { id: req.id, ok: true, agent: ckpt.agent, agentConfig: ckpt.agentConfig, state: ckpt.state, prepared, modelBytes };
  } catch (err) {
    reply = { id: req.id, ok: false, message: (err as Error).message, loadError: err instanceof ModelLoadError };
  }
  parentPort!.postMessage(reply, transfer);
});
// Modules imported: loads sent from now on are handled without start-up delay.
parentPort!.postMessage({ ready: true });
