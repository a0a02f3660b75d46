/**
 * `rliv export --checkpoint FILE --format safetensors [--out FILE] [--force]`:
 * an RLIV-UA checkpoint (from `rliv train`, the online registry or an
 * experiment) as a safetensors file that Python, Rust and most ML runtimes
 * load: every parameter by name, the embedding lookups (h_u per user, h_a
 * per item, e(k, b) per count kind and bucket) and metadata saying how the
 * towers score (src/agents/rliv-ua-export.ts; README "Models other tools
 * load"). The ONNX export of the scorer is not built yet.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExportError, rlivUaWeights } from '../agents/rliv-ua-export.js';
import { encodeSafetensors } from '../numeric/safetensors.js';
import { instantiateModel } from '../serving/model-registry.js';
import { requireString, UsageError, type CommandSpec } from './command.js';
import { forceOption } from './out-dir.js';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'export an RLIV-UA checkpoint\'s weights as safetensors (names, shapes and the scoring recipe in its metadata)',
  description:
    'Writes every parameter by name, the embedding lookups (lookup.user, lookup.item, lookup.count) and metadata (towers, heads,\n' +
    'gamma, score weights); scripts/rliv_safetensors.py loads it with numpy and computes the towers\' LIV.',
  options: {
    checkpoint: { type: 'string', description: 'checkpoint to export (rliv train\'s checkpoint.ckpt or a registry version)', valueName: 'FILE' },
    format: { type: 'string', description: 'output format', default: 'safetensors', choices: ['safetensors'], valueName: 'FORMAT' },
    out: { type: 'string', description: 'file to write (default: the checkpoint\'s path with .safetensors)', valueName: 'FILE' },
    force: forceOption(),
  },
  async run(values, _positionals, ctx) {
    const path = resolve(requireString(values, 'checkpoint'));
    const out = resolve(typeof values.out === 'string' ? values.out : path.replace(/\.ckpt$/, '') + '.safetensors');
    if (existsSync(out) && values.force !== true) throw new UsageError(`${out} exists; refusing to overwrite it. Choose another --out, or pass --force`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new UsageError(`--checkpoint ${path}: ${(err as Error).message}`);
    }
    const model = await instantiateModel(bytes, 0, path);
    let weights;
    try {
      weights = rlivUaWeights(model.ranker);
    } catch (err) {
      if (err instanceof ExportError) throw new UsageError(err.message);
      throw err;
    }
    const file = encodeSafetensors(weights.tensors, weights.metadata);
    writeFileSync(out, file);
    ctx.log(`${model.agent}: ${weights.tensors.length} tensors, ${(file.length / 1e6).toFixed(1)} MB -> ${out}`);
    return { command: 'export', format: 'safetensors', agent: model.agent, file: out, bytes: file.length, tensors: weights.tensors.map((t) => ({ name: t.name, shape: t.shape })) };
  },
};
