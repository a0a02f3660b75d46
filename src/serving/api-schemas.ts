/**
 * JSON schemas of the ranking service's HTTP API (docs/design.md §9, issue 7),
 * validated by Fastify's ajv before any handler runs, so a rejected request
 * changes nothing. Every object is closed (`additionalProperties: false`),
 * arrays are bounded, numbers are finite (ajv rejects 1e999 = Infinity) and
 * bounded. Response schemas let Fastify serialize without JSON.stringify.
 */
import { MAX_FUSION_WEIGHT } from '../agents/score-fusion.js';
import { FEEDBACK_KINDS } from '../mdp/scri-mdp.js';

/** Largest candidate list of one rank request. */
export const MAX_CANDIDATES = 300;
/** Largest batch of feedback events in one request. */
export const MAX_FEEDBACK_BATCH = 1000;
/** Largest categorical feature list accepted per user or item. */
export const MAX_FEATURES = 64;
/** Largest magnitude of a client's base score (what its production ranking model produced). */
export const MAX_BASE_SCORE = 1e9;

const id32 = { type: 'integer', minimum: 0, maximum: 2147483647 } as const;
const features = { type: 'array', maxItems: MAX_FEATURES, items: { type: 'integer', minimum: 0, maximum: 2147483647 } } as const;

export const rankBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['userId', 'candidates', 'k'],
  properties: {
    userId: id32,
    userFeatures: features,
    candidates: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_CANDIDATES,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['itemId', 'authorId'],
        properties: { itemId: id32, authorId: id32, features, baseScore: { type: 'number', minimum: -MAX_BASE_SCORE, maximum: MAX_BASE_SCORE } },
      },
    },
    k: { type: 'integer', minimum: 1, maximum: MAX_CANDIDATES },
    towerWeights: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        click: { type: 'number', minimum: -1e6, maximum: 1e6 },
        watchTime: { type: 'number', minimum: -1e6, maximum: 1e6 },
        follow: { type: 'number', minimum: -1e6, maximum: 1e6 },
        gift: { type: 'number', minimum: -1e6, maximum: 1e6 },
      },
    },
    /** With a baseScore on every candidate: rank by baseScore + fusionWeight x sd(base) x the model score standardized over the candidates (src/agents/score-fusion.ts). */
    fusionWeight: { type: 'number', minimum: 0, maximum: MAX_FUSION_WEIGHT },
  },
} as const;

const livSchema = {
  type: ['object', 'null'],
  properties: {
    click: { type: ['number', 'null'] },
    watchTime: { type: ['number', 'null'] },
    follow: { type: ['number', 'null'] },
    gift: { type: ['number', 'null'] },
  },
} as const;

export const rankResponseSchema = {
  type: 'object',
  properties: {
    requestId: { type: 'string' },
    modelVersion: { type: 'integer' },
    degraded: { type: 'boolean' },
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          itemId: { type: 'integer' },
          authorId: { type: 'integer' },
          score: { type: 'number' },
          baseScore: { type: ['number', 'null'] },
          modelScore: { type: 'number' },
          liv: livSchema,
        },
      },
    },
  },
} as const;

const feedbackEventSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['requestId', 'itemId', 'kind', 'value'],
  properties: {
    requestId: { type: 'string', minLength: 1, maxLength: 128 },
    itemId: id32,
    kind: { type: 'string', enum: [...FEEDBACK_KINDS] },
    /** Flags: 1 (or any > 0); watchTime: seconds; gift: amount. */
    value: { type: 'number', minimum: 0, maximum: 1e9 },
    /** Event time in ms since the epoch; default: the time the server received it. */
    time: { type: 'number', minimum: 0, maximum: 1e14 },
  },
} as const;

export const feedbackBodySchema = feedbackEventSchema;

export const feedbackBatchBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['events'],
  properties: {
    events: { type: 'array', minItems: 1, maxItems: MAX_FEEDBACK_BATCH, items: feedbackEventSchema },
  },
} as const;

export const feedbackResponseSchema = {
  type: 'object',
  properties: { accepted: { type: 'integer' } },
} as const;

/** Request body types (what the schemas admit). */
export interface RankBody {
  userId: number;
  userFeatures?: number[];
  candidates: { itemId: number; authorId: number; features?: number[]; baseScore?: number }[];
  k: number;
  towerWeights?: Partial<Record<'click' | 'watchTime' | 'follow' | 'gift', number>>;
  fusionWeight?: number;
}
export interface FeedbackBody {
  requestId: string;
  itemId: number;
  kind: string;
  value: number;
  time?: number;
}
export interface FeedbackBatchBody {
  events: FeedbackBody[];
}
