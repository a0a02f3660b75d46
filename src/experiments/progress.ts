/**
 * How long-running experiment code reports progress without printing: the
 * runner calls these hooks, and the CLI turns them into cli-progress bars
 * (with ETA) on stderr, or nothing under --quiet. Library users and tests
 * pass {@link SILENT_PROGRESS} or their own sink.
 */
export interface ProgressSink {
  /** A phase begins with `total` units of work (e.g. "train" with models x seeds x epochs epochs). */
  start(phase: string, total: number, unit: string): void;
  /** `done` units of the current phase are complete; `note` is a short status (e.g. the model being trained). */
  update(done: number, note?: string): void;
  /** The current phase has ended. */
  stop(): void;
  /** A human-readable line (e.g. a phase summary). */
  log(message: string): void;
}

export const SILENT_PROGRESS: ProgressSink = {
  start() {},
  update() {},
  stop() {},
  log() {},
};
