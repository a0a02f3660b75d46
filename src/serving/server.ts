/**
 * The ranking service (docs/design.md §9, paper Fig. 4) on Fastify:
 *   POST /v1/rank            user + up to 300 candidates (optionally with base scores and a
 *                            fusion weight) -> top K with base score, model score, per-tower
 *                            LIV and the score they are ordered by (fused when fusing)
 *   POST /v1/feedback        one feedback event
 *   POST /v1/feedback/batch  up to 1000 events
 *   GET  /v1/catalog/items   item ids with their authors (?offset=&limit=, for building candidate lists)
 *   GET  /healthz            model version, store and stream status, degraded flags
 *   GET  /metrics            Prometheus text: the rliv_* series and the process's (process_*, nodejs_*: CPU, memory, GC, event-loop delay)
 *
 * Every body is validated by JSON schema before the handler runs (closed
 * objects, bounded arrays, finite numbers, body size limit); semantic checks
 * (items known to the serving catalog, authors matching, no duplicate
 * candidates) also run before anything changes, so a rejected request
 * changes nothing. Client errors are 4xx with a message naming the field;
 * an unexpected error is a 500 for that request only. request-guards.ts
 * adds what runs before the schema: bearer tokens on writes (and optionally
 * on /v1/rank), JSON-only bodies without duplicate or forbidden keys, random
 * 128-bit request ids, and feedback accepted only for issued requests and
 * their items at times not before the impression nor ahead of the clock.
 *
 * Requests, refusals and failures are logged through Fastify's logger
 * (pino, JSON lines on stderr; level warn by default, see service-log.ts).
 *
 * Degraded operation: when the pair store cannot be read the request is
 * ranked with default (zero) counts and the response says `degraded: true`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { PAIR_COUNT_DIM, TOWER_COUNT, TOWERS } from '../data/interaction-kinds.js';
import type { RankRequest } from '../agents/ranker.js';
import { combineTowerLivs, towerWeightVector } from '../agents/tower-liv.js';
import { fuseScores } from '../agents/score-fusion.js';
import type { Catalog } from '../world/catalog.js';
import { SESSION_SUMMARY_DIM } from '../environment/trace.js';
import {
  MAX_CANDIDATES,
  feedbackBatchBodySchema,
  feedbackBodySchema,
  feedbackResponseSchema,
  rankBodySchema,
  rankResponseSchema,
  type FeedbackBatchBody,
  type FeedbackBody,
  type RankBody,
} from './api-schemas.js';
import { CatalogFeatureViews } from './feature-views.js';
import { CallbackMetric, Counter, Histogram, LATENCY_BUCKETS_S, MetricsRegistry } from './metrics.js';
import { ModelHolder } from './model-holder.js';
import { publicCatalogDescription, type ModelRegistry, type ServingModel } from './model-registry.js';
import type { PairFeatureStore } from './pair-store.js';
import { processMetricsText } from './process-metrics.js';
import { SamplePipeline, type SamplePipelineOptions } from './sample-pipeline.js';
import { checkFeedback, installRequestGuards, RequestIds, unsupportedMediaTypeMessage, zeroGuardCounters, type ServiceAuthOptions } from './request-guards.js';
import { fastifyLoggerOptions, watchServiceHealth, type ServiceLogOptions } from './service-log.js';
import type { SampleStream } from './sample-stream.js';

/** Configuration of {@link createRankingService}. */
export interface RankingServiceOptions {
  /** The model served at start. */
  model: ServingModel;
  /** Registry watched for new versions (null: never reload). */
  registry: ModelRegistry | null;
  /** Pair-count store (memory or redis). */
  store: PairFeatureStore;
  /** Sample stream the joined ASA samples go to. */
  stream: SampleStream;
  /** Joiner / sample settings. */
  pipeline?: Partial<SamplePipelineOptions>;
  /** How often the registry is polled for a new version (ms). Default 1000. */
  reloadIntervalMs?: number;
  /** How often the joiner's clock advances and samples/store updates are written (ms). Default 200. */
  tickIntervalMs?: number;
  /** Largest request body in bytes. Default 1 MiB (300 candidates with features fit in ~60 KB). */
  bodyLimit?: number;
  /** Clock (ms since the epoch); tests may replace it. Default Date.now. */
  now?: () => number;
  /** Bearer tokens (see request-guards.ts). Default none: every route open (`rliv serve` binds to loopback unless told otherwise). */
  auth?: ServiceAuthOptions;
  /** How far a feedback event's `time` may be ahead of the server clock (ms); later is a 400. Default 60,000. */
  maxFeedbackSkewMs?: number;
  /** The service's log (pino through Fastify): level (default warn) and destination (default stderr); see service-log.ts. */
  log?: ServiceLogOptions;
}

export interface RankingService {
  app: FastifyInstance;
  holder: ModelHolder;
  pipeline: SamplePipeline;
  store: PairFeatureStore;
  stream: SampleStream;
  /** Stops timers, flushes the joiner, closes the HTTP server, store and stream. */
  close(): Promise<void>;
}

/** A client error with the HTTP status and a message naming the field. */
class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const ZERO_SUMMARY = new Float32Array(SESSION_SUMMARY_DIM);

/**
 * The arrays one rank request works in (candidates, authors, f_ua, scores),
 * sized for the largest request. Kept on a free list: a request holds one
 * set across its store read, so concurrent requests each have their own, and
 * steady traffic allocates none (they were ~12 KB of ArrayBuffers per
 * request, whose external-memory accounting started extra collections).
 */
interface RankScratch {
  items: Int32Array;
  authors: Int32Array;
  counts: Float32Array;
  scores: Float32Array;
  base: Float64Array;
  finite: Float32Array;
  fused: Float32Array;
}

function newRankScratch(): RankScratch {
  return {
    items: new Int32Array(MAX_CANDIDATES),
    authors: new Int32Array(MAX_CANDIDATES),
    counts: new Float32Array(MAX_CANDIDATES * PAIR_COUNT_DIM),
    scores: new Float32Array(MAX_CANDIDATES),
    base: new Float64Array(MAX_CANDIDATES),
    finite: new Float32Array(MAX_CANDIDATES),
    fused: new Float32Array(MAX_CANDIDATES),
  };
}

/**
 * The request's base scores (one per candidate, into `out`), or null when it
 * fuses nothing. Throws a 400 naming the field when only some candidates
 * carry a baseScore, or when baseScore and fusionWeight do not come together.
 */
function baseScoresOf(body: RankBody, n: number, out: Float64Array): Float64Array | null {
  let given = 0;
  let firstMissing = -1;
  for (let i = 0; i < n; i++) {
    const b = body.candidates[i]!.baseScore;
    if (b === undefined) {
      if (firstMissing < 0) firstMissing = i;
    } else {
      out[i] = b;
      given++;
    }
  }
  if (given > 0 && given < n)
    throw new RequestError(
      400,
      `body/candidates/${firstMissing}/baseScore is missing: give a baseScore for every candidate or for none (${given} of ${n} have one)`,
    );
  if (given === n && body.fusionWeight === undefined)
    throw new RequestError(400, 'body/fusionWeight is required when the candidates carry baseScore (0 ranks by the base score alone)');
  if (given === 0 && body.fusionWeight !== undefined)
    throw new RequestError(400, 'body/fusionWeight needs a baseScore on every candidate (what the production ranking model scored)');
  return given === n ? out.subarray(0, n) : null;
}

/** Formats ajv errors as "body/candidates/3/itemId must be integer" (unknown fields named). */
function formatSchemaErrors(errors: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }[], dataVar: string): Error {
  const parts = errors.map((e) => {
    const where = `${dataVar}${e.instancePath}`;
    if (e.keyword === 'additionalProperties') return `${where} has unknown field "${String(e.params.additionalProperty)}"`;
    if (e.keyword === 'required') return `${where} is missing required field "${String(e.params.missingProperty)}"`;
    if (e.keyword === 'enum') return `${where} must be one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}`;
    return `${where} ${e.message ?? 'is invalid'}`;
  });
  return new Error(parts.join('; '));
}

export async function createRankingService(options: RankingServiceOptions): Promise<RankingService> {
  const now = options.now ?? Date.now;
  const registry = options.registry;
  const holder = new ModelHolder(options.model, registry);
  const catalog0 = options.model.catalog;
  const pipeline = new SamplePipeline(options.store, options.stream, {
    ...options.pipeline,
    userFeatureDim: catalog0.userFeatureFields.length,
    itemFeatureDim: catalog0.itemFeatureFields.length,
  });
  const store = options.store;
  const stream = options.stream;

  const app = Fastify({
    logger: fastifyLoggerOptions(options.log),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
    schemaErrorFormatter: formatSchemaErrors as never,
  });

  // ---- metrics ----
  const metrics = new MetricsRegistry();
  const httpRequests = metrics.add(new Counter('rliv_http_requests_total', 'HTTP requests by route and status code'));
  const latency = metrics.add(new Histogram('rliv_http_request_duration_seconds', 'HTTP request latency by route', LATENCY_BUCKETS_S));
  const rankedCandidates = metrics.add(new Counter('rliv_ranked_candidates_total', 'Candidates scored by /v1/rank'));
  const degradedRanks = metrics.add(new Counter('rliv_rank_degraded_total', 'Rank requests served with default pair counts (store unavailable)'));
  const nonFinite = metrics.add(new Counter('rliv_nonfinite_scores_total', 'Scores that were NaN or infinite (ranked last, reported as 0)'));
  metrics.add(new CallbackMetric('rliv_model_version', 'Registry version of the model being served', 'gauge', () => holder.current.version));
  metrics.add(new CallbackMetric('rliv_model_reloads_total', 'Model versions loaded by hot reload', 'counter', () => holder.reload.reloads));
  metrics.add(
    new CallbackMetric('rliv_model_reload_failures_total', 'Model versions refused (corrupt or unloadable)', 'counter', () => holder.reload.failures),
  );
  metrics.add(new CallbackMetric('rliv_store_degraded', '1 while the pair-count store is unavailable', 'gauge', () => (store.status().healthy ? 0 : 1)));
  metrics.add(new CallbackMetric('rliv_stream_degraded', '1 while the sample stream is unavailable', 'gauge', () => (stream.status().healthy ? 0 : 1)));
  metrics.add(new CallbackMetric('rliv_store_read_failures_total', 'Pair-count reads answered with defaults', 'counter', () => store.status().readFailures));
  metrics.add(
    new CallbackMetric(
      'rliv_store_resets_total',
      'Times the Redis pair store was found emptied (restarted without persistence, or flushed): every earlier pair count lost',
      'counter',
      () => store.status().resets ?? 0,
    ),
  );
  metrics.add(
    new CallbackMetric('rliv_store_updates_total', 'Pair-count ASA updates by outcome', 'counter', () => {
      const s = store.status();
      return [
        { labels: { result: 'applied' }, value: s.appliedUpdates },
        { labels: { result: 'deferred' }, value: s.deferredUpdates },
        { labels: { result: 'dropped' }, value: s.droppedUpdates },
      ];
    }),
  );
  metrics.add(
    new CallbackMetric('rliv_stream_samples_published_total', 'ASA samples published to the sample stream', 'counter', () => stream.status().publishedSamples),
  );
  metrics.add(
    new CallbackMetric('rliv_stream_entries_total', 'Sample stream entries by outcome', 'counter', () => {
      const s = stream.status();
      return [
        { labels: { result: 'published' }, value: s.publishedEntries },
        { labels: { result: 'buffered' }, value: s.bufferedEntries },
        { labels: { result: 'dropped' }, value: s.droppedEntries },
      ];
    }),
  );
  metrics.add(
    new CallbackMetric('rliv_joiner_events_total', 'Label joiner events by outcome', 'counter', () =>
      Object.entries(pipeline.joiner.counters).map(([k, v]) => ({ labels: { outcome: k }, value: v })),
    ),
  );
  metrics.add(new CallbackMetric('rliv_joiner_pending', 'Impressions waiting for their join window to close', 'gauge', () => pipeline.joiner.pendingCount));
  metrics.add(new CallbackMetric('rliv_joiner_early_feedback', 'Feedback events waiting for their impression', 'gauge', () => pipeline.joiner.earlyCount));

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    httpRequests.inc({ route, status: String(reply.statusCode) });
    latency.observe(reply.elapsedTime / 1000, { route });
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    const code = err.statusCode;
    const status = code !== undefined && ((code >= 400 && code < 500) || code === 503) ? code : 500;
    const message =
      status === 500
        ? `internal error: ${err.message}`
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? unsupportedMediaTypeMessage(req.headers['content-type'])
          : err.message;
    const error =
      status === 500
        ? 'Internal Server Error'
        : status === 503
          ? 'Service Unavailable'
          : status === 413
            ? 'Payload Too Large'
            : status === 415
              ? 'Unsupported Media Type'
              : status === 404
                ? 'Not Found'
                : status === 401
                  ? 'Unauthorized'
                  : 'Bad Request';
    if (status === 500) req.log.error({ err }, 'request failed');
    else req.log.info({ statusCode: status, message }, 'request refused');
    void reply.status(status).send({ statusCode: status, error, message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({
      statusCode: 404,
      error: 'Not Found',
      message: `no route ${req.method} ${req.url}; routes: POST /v1/rank, POST /v1/feedback, POST /v1/feedback/batch, GET /v1/catalog/items, GET /healthz, GET /metrics`,
    });
  });

  // ---- authentication, body checks (before any route) ----
  const guards = zeroGuardCounters();
  installRequestGuards(app, options.auth ?? {}, guards);
  const maxSkewMs = options.maxFeedbackSkewMs ?? 60_000;
  metrics.add(new CallbackMetric('rliv_unauthorized_total', 'Requests refused for a missing or wrong bearer token', 'counter', () => guards.unauthorized));
  metrics.add(
    new CallbackMetric(
      'rliv_feedback_rejected_total',
      'Feedback events refused (unknown request or item, time before the impression or ahead of the clock)',
      'counter',
      () => Object.entries(guards.feedbackRejected).map(([reason, value]) => ({ labels: { reason }, value })),
    ),
  );

  // ---- rank ----
  const requestIds = new RequestIds();
  let stamp = new Int32Array(catalog0.numItems);
  let stampGen = 0;
  let featureViews = new CatalogFeatureViews(catalog0);
  const scratchPool: RankScratch[] = [];

  app.post('/v1/rank', { schema: { body: rankBodySchema, response: { 200: rankResponseSchema } } }, async (req) => {
    const body = req.body as RankBody;
    const catalog = holder.current.catalog;
    const n = body.candidates.length;
    if (body.userId >= catalog.numUsers)
      throw new RequestError(400, `body/userId ${body.userId} is not a user of the serving catalog (0..${catalog.numUsers - 1})`);
    if (stamp.length < catalog.numItems) stamp = new Int32Array(catalog.numItems);
    stampGen = (stampGen + 1) | 0 || 1;
    const scratch = scratchPool.pop() ?? newRankScratch();
    try {
      return await rank(body, catalog, n, scratch);
    } finally {
      scratchPool.push(scratch);
    }
  });

  /** The rank handler's work after the body check, on one set of scratch arrays. */
  async function rank(body: RankBody, catalog: Catalog, n: number, scratch: RankScratch) {
    const items = scratch.items.subarray(0, n);
    const authors = scratch.authors;
    for (let i = 0; i < n; i++) {
      const c = body.candidates[i]!;
      if (c.itemId >= catalog.numItems)
        throw new RequestError(400, `body/candidates/${i}/itemId ${c.itemId} is not an item of the serving catalog (0..${catalog.numItems - 1})`);
      const author = catalog.itemAuthor[c.itemId]!;
      if (c.authorId !== author)
        throw new RequestError(400, `body/candidates/${i}/authorId ${c.authorId} does not match item ${c.itemId}, whose author is ${author}`);
      if (stamp[c.itemId] === stampGen) throw new RequestError(400, `body/candidates/${i}/itemId ${c.itemId} appears twice in candidates`);
      stamp[c.itemId] = stampGen;
      items[i] = c.itemId;
      authors[i] = author;
    }
    const base = baseScoresOf(body, n, scratch.base);
    const weights = body.towerWeights;
    if (weights !== undefined && holder.current.ranker.towerLiv === null)
      throw new RequestError(400, `body/towerWeights: model ${holder.current.agent} does not expose per-tower LIV; omit towerWeights`);

    const counts = scratch.counts;
    const storeOk = await store.read(body.userId, authors, n, counts);
    // From here to the response everything is synchronous: one model version for the whole request.
    const model = holder.current;
    if (model.catalog !== catalog) throw new RequestError(503, 'the model changed to another catalog during the request; retry');
    const towerLiv = model.ranker.towerLiv;
    if (weights !== undefined && towerLiv === null)
      throw new RequestError(400, `body/towerWeights: model ${model.agent} does not expose per-tower LIV; omit towerWeights`);
    if (!storeOk) degradedRanks.inc();

    const request: RankRequest = { user: body.userId, candidates: items, candidatePairCounts: counts, summary: ZERO_SUMMARY };
    const scores = scratch.scores;
    let towerOut: Float32Array | null = null;
    if (weights !== undefined) {
      towerOut = new Float32Array(n * TOWER_COUNT);
      towerLiv!.livPerTower(request, towerOut);
      const untrained = combineTowerLivs(towerOut, n, towerWeightVector(weights), scores);
      if (untrained !== null)
        throw new RequestError(
          400,
          `body/towerWeights/${untrained}: model ${model.agent} does not train the ${untrained} tower; give it weight 0 or leave it out`,
        );
    } else {
      model.ranker.score(request, scores);
    }
    rankedCandidates.inc(undefined, n);
    // Fusion into the client's production ranking score (src/agents/score-fusion.ts). A candidate
    // whose model score is not finite fuses as NaN: ranked last, like an unfused NaN score.
    let ranked = scores;
    if (base !== null) {
      ranked = scratch.fused.subarray(0, n);
      const finite = scratch.finite.subarray(0, n);
      for (let i = 0; i < n; i++) finite[i] = Number.isFinite(scores[i]!) ? scores[i]! : 0;
      fuseScores(base, finite, n, body.fusionWeight!, ranked);
      for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i]!)) ranked[i] = NaN;
    }

    const k = Math.min(body.k, n);
    const order = topK(ranked, n, k);
    let livOfTop: Float32Array | null = null;
    if (towerOut !== null) {
      livOfTop = new Float32Array(k * TOWER_COUNT);
      for (let j = 0; j < k; j++) livOfTop.set(towerOut.subarray(order[j]! * TOWER_COUNT, order[j]! * TOWER_COUNT + TOWER_COUNT), j * TOWER_COUNT);
    } else if (towerLiv !== null) {
      // The LIV of the exposed items only: one small forward pass over K candidates.
      const sub = new Int32Array(k);
      const subCounts = new Float32Array(k * PAIR_COUNT_DIM);
      for (let j = 0; j < k; j++) {
        sub[j] = items[order[j]!]!;
        subCounts.set(counts.subarray(order[j]! * PAIR_COUNT_DIM, order[j]! * PAIR_COUNT_DIM + PAIR_COUNT_DIM), j * PAIR_COUNT_DIM);
      }
      livOfTop = new Float32Array(k * TOWER_COUNT);
      towerLiv.livPerTower({ user: body.userId, candidates: sub, candidatePairCounts: subCounts, summary: ZERO_SUMMARY }, livOfTop);
    }

    const requestId = requestIds.id();
    const t = now();
    if (featureViews.catalog !== catalog) featureViews = new CatalogFeatureViews(catalog);
    const userFeatures = featureViews.user(body.userId);
    const out = new Array(k);
    for (let j = 0; j < k; j++) {
      const c = order[j]!;
      const item = items[c]!;
      let score = ranked[c]!;
      let modelScore = scores[c]!;
      if (!Number.isFinite(modelScore)) {
        nonFinite.inc();
        modelScore = 0;
        score = 0;
      }
      out[j] = {
        itemId: item,
        authorId: authors[c]!,
        score,
        baseScore: base === null ? null : base[c]!,
        modelScore,
        liv: livOfTop === null ? null : livObject(livOfTop, j),
      };
      pipeline.impression({
        requestId,
        user: body.userId,
        item,
        author: authors[c]!,
        timeMs: t,
        pairCounts: counts.subarray(c * PAIR_COUNT_DIM, c * PAIR_COUNT_DIM + PAIR_COUNT_DIM),
        userFeatures,
        itemFeatures: featureViews.item(item),
      });
    }
    return { requestId, modelVersion: model.version, degraded: !storeOk, items: out };
  }

  // ---- feedback ----
  app.post('/v1/feedback', { schema: { body: feedbackBodySchema, response: { 202: feedbackResponseSchema } } }, async (req, reply) => {
    const b = req.body as FeedbackBody;
    const [timeMs] = checkFeedback(pipeline.joiner, [b], now(), maxSkewMs, guards, () => 'body');
    pipeline.feedback({ requestId: b.requestId, item: b.itemId, kind: b.kind, value: b.value, timeMs: timeMs! });
    void reply.status(202);
    return { accepted: 1 };
  });
  app.post('/v1/feedback/batch', { schema: { body: feedbackBatchBodySchema, response: { 202: feedbackResponseSchema } } }, async (req, reply) => {
    const b = req.body as FeedbackBatchBody;
    const times = checkFeedback(pipeline.joiner, b.events, now(), maxSkewMs, guards, (i) => `body/events/${i}`);
    b.events.forEach((e, i) => pipeline.feedback({ requestId: e.requestId, item: e.itemId, kind: e.kind, value: e.value, timeMs: times[i]! }));
    void reply.status(202);
    return { accepted: b.events.length };
  });

  // ---- catalog lookup (lets a client build candidate lists: item ids with their authors) ----
  app.get(
    '/v1/catalog/items',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          // Query values arrive as strings (type coercion is off for the JSON bodies' sake).
          properties: { offset: { type: 'string', pattern: '^[0-9]{1,9}$' }, limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|[12][0-9][0-9]|300)$' } },
        },
      },
    },
    async (req) => {
      const q = req.query as { offset?: string; limit?: string };
      const catalog = holder.current.catalog;
      const offset = Number(q.offset ?? 0);
      const end = Math.min(catalog.numItems, offset + Number(q.limit ?? 20));
      const items: { itemId: number; authorId: number }[] = [];
      for (let i = offset; i < end; i++) items.push({ itemId: i, authorId: catalog.itemAuthor[i]! });
      return { numItems: catalog.numItems, numUsers: catalog.numUsers, items };
    },
  );

  // ---- health and metrics ----
  app.get('/healthz', async () => {
    const m = holder.current;
    const storeStatus = store.status();
    const streamStatus = stream.status();
    const degraded = {
      store: !storeStatus.healthy,
      stream: !streamStatus.healthy,
      modelReload:
        holder.reload.pointerError !== undefined ||
        (holder.reload.lastError !== undefined && holder.reload.lastFailedVersion !== undefined && holder.reload.lastFailedVersion > m.version),
    };
    return {
      status: degraded.store || degraded.stream || degraded.modelReload ? 'degraded' : 'ok',
      modelVersion: m.version,
      model: {
        agent: m.agent,
        sha256: m.sha256,
        loadedAt: new Date(m.loadedAt).toISOString(),
        catalog: {
          users: m.catalog.numUsers,
          authors: m.catalog.numAuthors,
          items: m.catalog.numItems,
          ...publicCatalogDescription(m.catalogSpec.description),
        },
        perTowerLiv: m.ranker.towerLiv !== null,
      },
      degraded,
      store: storeStatus,
      stream: streamStatus,
      reload: holder.reload,
      joiner: { ...pipeline.joiner.counters, pending: pipeline.joiner.pendingCount, earlyFeedback: pipeline.joiner.earlyCount },
      requests: { unauthorized: guards.unauthorized, feedbackRejected: { ...guards.feedbackRejected } },
    };
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.type('text/plain; version=0.0.4; charset=utf-8');
    return metrics.render() + (await processMetricsText());
  });

  // ---- timers ----
  const tickTimer = setInterval(() => pipeline.tick(now()), options.tickIntervalMs ?? 200);
  tickTimer.unref();
  if (registry !== null) holder.watch(options.reloadIntervalMs ?? 1000);
  const stopHealthLog = watchServiceHealth(app.log, { holder, store, stream }, options.tickIntervalMs ?? 200);

  let closed = false;
  return {
    app,
    holder,
    pipeline,
    store,
    stream,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(tickTimer);
      stopHealthLog();
      holder.stop();
      await app.close();
      await pipeline.flush();
      await store.close();
      await stream.close();
      // The log is written asynchronously: what is buffered goes out before close() resolves.
      await new Promise<void>((done) => (app.log as FastifyBaseLogger & { flush?: (cb: () => void) => void }).flush?.(() => done()) ?? done());
    },
  };
}

/** The LIV of row j as {click, watchTime, follow, gift}; null for a tower the variant does not train. */
function livObject(liv: Float32Array, j: number): Record<string, number | null> {
  const o: Record<string, number | null> = {};
  for (let t = 0; t < TOWER_COUNT; t++) {
    const v = liv[j * TOWER_COUNT + t]!;
    o[TOWERS[t]!] = Number.isFinite(v) ? v : null;
  }
  return o;
}

/**
 * Indices of the k highest scores, best first (NaN last; ties by lower index).
 * Partial selection: one pass keeping a sorted top-k buffer, O(N k) for the
 * small K of a slate instead of sorting all N candidates.
 */
export function topK(scores: Float32Array, n: number, k: number): Int32Array {
  const out = new Int32Array(k);
  const best = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const raw = scores[i]!;
    const s = Number.isNaN(raw) ? -Infinity : raw;
    // Strictly greater than the current k-th: equal scores keep the earlier index.
    if (size === k && !(s > best[k - 1]!)) continue;
    let j = size < k ? size++ : k - 1;
    while (j > 0 && s > best[j - 1]!) {
      best[j] = best[j - 1]!;
      out[j] = out[j - 1]!;
      j--;
    }
    best[j] = s;
    out[j] = i;
  }
  // Fewer finite-or-not entries than k cannot happen (k <= n), but keep the contract explicit.
  return size === k ? out : out.subarray(0, size);
}
