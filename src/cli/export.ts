/**
 * `rliv export --checkpoint FILE --format safetensors [--out FILE] [--force]`:
 * an RLIV-UA checkpoint (from `rliv train`, the online registry or an
 * experiment) as a safetensors file that Python, Rust and most ML runtimes
 * load: every parameter by name, the embedding lookups (h_u per user, h_a
 * per item, e(k, b) per count kind and bucket) and metadata saying how the
 * towers score (src/agents/rliv-ua-export.ts; README "Models other tools
 * load"). `--format onnx` writes the scorer instead: the towers' heads on
 * H (the embedding lookup is the caller's), outputs the LIV per tower and the
 * agent's ranking score (onnxruntime in Node, Python, C++, the browser).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExportError, rlivUaOnnx, rlivUaWeights } from '../agents/rliv-ua-export.js';
import { encodeOnnxModel } from '../numeric/onnx.js';
import { encodeSafetensors } from '../numeric/safetensors.js';
import { instantiateModel } from '../serving/model-registry.js';
import { requireString, UsageError, type CommandSpec } from './command.js';
import { forceOption } from './out-dir.js';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'export an RLIV-UA checkpoint: its weights as safetensors, or its scorer (the towers on H) as ONNX',
  description:
    'Writes every parameter by name, the embedding lookups (lookup.user, lookup.item, lookup.count) and metadata (towers, heads,\n' +
    "gamma, score weights); scripts/rliv_safetensors.py loads it with numpy and computes the towers' LIV. --format onnx: input H [N, 96]\n" +
    "(concat(h_u, h_a, h_ua) from those lookups), outputs liv [N, towers] and score [N] (the agent's ranking score).",
  options: {
    checkpoint: { type: 'string', description: "checkpoint to export (rliv train's checkpoint.ckpt or a registry version)", valueName: 'FILE' },
    format: { type: 'string', description: 'output format', default: 'safetensors', choices: ['safetensors', 'onnx'], valueName: 'FORMAT' },
    out: { type: 'string', description: "file to write (default: the checkpoint's path with .safetensors or .onnx)", valueName: 'FILE' },
    force: forceOption(),
  },
  async run(values, _positionals, ctx) {
    const path = resolve(requireString(values, 'checkpoint'));
    const format = String(values.format) as 'safetensors' | 'onnx';
    const out = resolve(typeof values.out === 'string' ? values.out : `${path.replace(/\.ckpt$/, '')}.${format}`);
    if (existsSync(out) && values.force !== true) throw new UsageError(`${out} exists; refusing to overwrite it. Choose another --out, or pass --force`);
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new UsageError(`--checkpoint ${path}: ${(err as Error).message}`);
    }
    const model = await instantiateModel(bytes, 0, path);
    try {
      if (format === 'onnx') {
        const onnx = rlivUaOnnx(model.ranker);
        const file = encodeOnnxModel(onnx);
        writeFileSync(out, file);
        ctx.log(`${model.agent}: ONNX scorer, ${onnx.nodes.length} nodes, ${(file.length / 1e6).toFixed(2)} MB -> ${out}`);
        return { command: 'export', format, agent: model.agent, file: out, bytes: file.length, inputs: onnx.inputs, outputs: onnx.outputs };
      }
      const weights = rlivUaWeights(model.ranker);
      const file = encodeSafetensors(weights.tensors, weights.metadata);
      writeFileSync(out, file);
      ctx.log(`${model.agent}: ${weights.tensors.length} tensors, ${(file.length / 1e6).toFixed(1)} MB -> ${out}`);
      return {
        command: 'export',
        format,
        agent: model.agent,
        file: out,
        bytes: file.length,
        tensors: weights.tensors.map((t) => ({ name: t.name, shape: t.shape })),
      };
    } catch (err) {
      if (err instanceof ExportError) throw new UsageError(err.message);
      throw err;
    }
  },
};
