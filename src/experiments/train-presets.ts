/**
 * Scales of a training run. `paper` follows the paper's Table 1 (250 epochs,
 * 1e4 training steps per epoch, batch 1024); `quick` is sized so the ten
 * models of the experiment train in minutes on two cores; `smoke` runs in
 * seconds and is what tests use. The default world of each scale is the
 * one `rliv generate` builds at the same preset (see train-environment.ts).
 */
import { DEFAULT_EXPLORATION, type ExplorationOptions } from '../agents/exploration.js';

/** Names of the scales (the same names as the CLI's --preset). */
export const TRAIN_PRESET_NAMES = ['smoke', 'quick', 'paper'] as const;
export type TrainPresetName = (typeof TRAIN_PRESET_NAMES)[number];

export interface TrainPreset {
  /** Training epochs (Table 1: 250). */
  epochs: number;
  /** Sessions of training users collected per epoch with the current policy plus exploration. */
  sessionsPerEpoch: number;
  /** Sessions of held-out users run greedily per epoch for evaluation. */
  evalSessionsPerEpoch: number;
  /** Gradient steps per epoch (Table 1: 1e4). */
  stepsPerEpoch: number;
  /** Minibatch size passed to the agent as `batchSize` (Table 1: 1024). */
  batchSize: number;
  /** Fraction of the world's users held out for evaluation (never trained on). */
  heldOutFraction: number;
  /** Share of the other users reserved as validation users (never trained on): `rliv tune` selects configs on them. */
  validationFraction: number;
  /**
   * Seed of the users' split into training, validation and held-out users
   * (training-loop.ts `splitUsers`); absent: each run's own seed.
   * `rliv experiment` and `rliv tune` set the world's seed, so every training
   * seed is judged on the same held-out users and tuning never meets them.
   */
  splitSeed?: number;
  /** The model's figure is the mean of this many last evaluation epochs (paper: 10). */
  lastEpochsForFigure: number;
  /** Exploration while collecting training sessions. */
  exploration: ExplorationOptions;
}

export const TRAIN_PRESETS: Record<TrainPresetName, TrainPreset> = {
  smoke: {
    epochs: 3,
    sessionsPerEpoch: 12,
    evalSessionsPerEpoch: 12,
    stepsPerEpoch: 10,
    batchSize: 64,
    heldOutFraction: 0.25,
    validationFraction: 0.2,
    lastEpochsForFigure: 10,
    exploration: { ...DEFAULT_EXPLORATION, decayEpochs: 3 },
  },
  quick: {
    epochs: 20,
    sessionsPerEpoch: 48,
    evalSessionsPerEpoch: 48,
    stepsPerEpoch: 100,
    batchSize: 256,
    heldOutFraction: 0.2,
    validationFraction: 0.1,
    lastEpochsForFigure: 10,
    exploration: { ...DEFAULT_EXPLORATION, decayEpochs: 15 },
  },
  paper: {
    epochs: 250,
    sessionsPerEpoch: 1024,
    evalSessionsPerEpoch: 512,
    stepsPerEpoch: 10_000,
    batchSize: 1024,
    heldOutFraction: 0.2,
    validationFraction: 0.1,
    lastEpochsForFigure: 10,
    exploration: { ...DEFAULT_EXPLORATION, decayEpochs: 100 },
  },
};

/** Looks a preset up by name; the error lists the known names. */
export function trainPreset(name: string): TrainPreset {
  const p = TRAIN_PRESETS[name as TrainPresetName];
  if (!p) throw new RangeError(`unknown preset "${name}"; choose one of ${Object.keys(TRAIN_PRESETS).join(', ')}`);
  return { ...p, exploration: { ...p.exploration } };
}
