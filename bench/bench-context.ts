/**
 * What `rliv bench` hands a workload: a log line printer and the seed. The
 * command (src/cli/bench.ts) parses and checks the flags and passes each
 * workload typed options, so the workloads never import the CLI layer
 * (docs/design.md §2.1: bench sits below cli).
 */
export interface BenchContext {
  /** Prints a human-readable line to stderr (nothing under --quiet). */
  log(message: string): void;
  /** Seed of every random choice of the workload. */
  seed: number;
}
