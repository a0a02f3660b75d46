/**
 * Target-network maintenance: Polyak soft update target = tau*source +
 * (1-tau)*target (the critics' targets in RLIV-UA, DQN, TD3, CQL) and hard
 * copy. Shapes are checked for every pair before any value changes.
 */
import { ShapeError, type Param } from './param.js';

function checkPairs(what: string, target: readonly Param[], source: readonly Param[]): void {
  if (target.length !== source.length) throw new ShapeError(`${what}: ${target.length} target params but ${source.length} source params`);
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!;
    const s = source[i]!;
    if (t.size !== s.size || t.shape.join('x') !== s.shape.join('x')) {
      throw new ShapeError(`${what}: param ${i} shape mismatch: target ${t.name} [${t.shape}] vs source ${s.name} [${s.shape}]`);
    }
  }
}

/** target <- tau * source + (1 - tau) * target, for 0 <= tau <= 1. */
export function softUpdate(target: readonly Param[], source: readonly Param[], tau: number): void {
  if (!(tau >= 0 && tau <= 1)) throw new RangeError(`softUpdate: tau must be in [0, 1], got ${tau}`);
  checkPairs('softUpdate', target, source);
  const keep = 1 - tau;
  for (let i = 0; i < target.length; i++) {
    const t = target[i]!.value;
    const s = source[i]!.value;
    for (let j = 0; j < t.length; j++) t[j] = tau * s[j]! + keep * t[j]!;
  }
}

/** target <- source. */
export function hardCopy(target: readonly Param[], source: readonly Param[]): void {
  checkPairs('hardCopy', target, source);
  for (let i = 0; i < target.length; i++) target[i]!.value.set(source[i]!.value);
}
