/**
 * The per-pair interaction counts `f_ua` of the SCRI-MDP state (paper eq. 3),
 * one component per interaction kind. Shared by the world (relationship
 * state), the simulator (model input), the agents (state features) and ASA.
 *
 * Layout of a count vector (Float32Array of length PAIR_COUNT_DIM):
 *   0 click, 1 longView, 2 like, 3 follow (0/1 flag), 4 comment, 5 gift
 *   (number of gifting interactions), 6 watchTimeSec (total seconds watched).
 */
export const PAIR_COUNT_KINDS = ['click', 'longView', 'like', 'follow', 'comment', 'gift', 'watchTimeSec'] as const;
export type PairCountKind = (typeof PAIR_COUNT_KINDS)[number];
export const PAIR_COUNT_DIM = PAIR_COUNT_KINDS.length;

export const PC_CLICK = 0;
export const PC_LONG_VIEW = 1;
export const PC_LIKE = 2;
export const PC_FOLLOW = 3;
export const PC_COMMENT = 4;
export const PC_GIFT = 5;
export const PC_WATCH_TIME = 6;

/** The four LIV towers of MTCL, in this fixed order everywhere. */
export const TOWERS = ['click', 'watchTime', 'follow', 'gift'] as const;
export type Tower = (typeof TOWERS)[number];
export const TOWER_COUNT = TOWERS.length;
