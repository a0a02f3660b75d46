/*
 * rliv_native: the optional N-API addon behind the `openblas` backend of the
 * numeric core (src/numeric/native.ts). It exposes row-major cblas_sgemm
 * with element offsets into Float32Arrays, so fused layers multiply
 * sub-blocks in place, and the few elementwise loops around gemm (ReLU and
 * its mask, bias rows, dense and row-lazy Adam, embedding gather and
 * scatter-add) that plain JavaScript cannot vectorise; their TypeScript
 * twins are in src/numeric/kernels.ts.
 * Operand extents are re-checked here because an out-of-bounds read in C
 * would crash the process instead of throwing. OpenBLAS is pinned to one
 * thread: the machine's cores belong to the simulator/server processes and a
 * threaded BLAS on 64-wide matrices only adds synchronisation cost.
 *
 * Built by scripts/build-native.mjs (cc -shared, -lopenblas); N-API is ABI
 * stable, so the .node file works with any Node >= 20.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>
#include <cblas.h>

/* Declared here rather than relying on the OpenBLAS-specific cblas.h. */
extern void openblas_set_num_threads(int num_threads);
extern char *openblas_get_config(void);

#define THROW(env, msg) do { napi_throw_range_error((env), NULL, (msg)); return NULL; } while (0)

static bool get_f32(napi_env env, napi_value v, float **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void *ptr = NULL;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &offset) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  *data = (float *)ptr;
  return true;
}

static bool fits(size_t len, int64_t off, int64_t ld, int64_t rows, int64_t cols) {
  if (off < 0 || ld < cols || ld < 1) return false;
  if (rows == 0 || cols == 0) return true;
  return (uint64_t)(off + (rows - 1) * ld + cols) <= (uint64_t)len;
}

/* sgemm(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc) */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 16;
  napi_value argv[16];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 16) THROW(env, "sgemm expects 16 arguments");
  bool ta = false, tb = false;
  int32_t m, n, k, aoff, lda, boff, ldb, coff, ldc;
  double alpha, beta;
  float *a, *b, *c;
  size_t alen, blen, clen;
  if (napi_get_value_bool(env, argv[0], &ta) != napi_ok || napi_get_value_bool(env, argv[1], &tb) != napi_ok) THROW(env, "sgemm: transA/transB must be booleans");
  if (napi_get_value_int32(env, argv[2], &m) != napi_ok || napi_get_value_int32(env, argv[3], &n) != napi_ok ||
      napi_get_value_int32(env, argv[4], &k) != napi_ok || napi_get_value_double(env, argv[5], &alpha) != napi_ok ||
      napi_get_value_int32(env, argv[7], &aoff) != napi_ok || napi_get_value_int32(env, argv[8], &lda) != napi_ok ||
      napi_get_value_int32(env, argv[10], &boff) != napi_ok || napi_get_value_int32(env, argv[11], &ldb) != napi_ok ||
      napi_get_value_double(env, argv[12], &beta) != napi_ok ||
      napi_get_value_int32(env, argv[14], &coff) != napi_ok || napi_get_value_int32(env, argv[15], &ldc) != napi_ok) {
    THROW(env, "sgemm: sizes, offsets and leading dimensions must be numbers");
  }
  if (!get_f32(env, argv[6], &a, &alen) || !get_f32(env, argv[9], &b, &blen) || !get_f32(env, argv[13], &c, &clen)) {
    THROW(env, "sgemm: a, b and c must be Float32Arrays");
  }
  if (m < 0 || n < 0 || k < 0) THROW(env, "sgemm: m, n, k must be >= 0");
  if (!fits(alen, aoff, lda, ta ? k : m, ta ? m : k)) THROW(env, "sgemm: operand A does not fit its array");
  if (!fits(blen, boff, ldb, tb ? n : k, tb ? k : n)) THROW(env, "sgemm: operand B does not fit its array");
  if (!fits(clen, coff, ldc, m, n)) THROW(env, "sgemm: operand C does not fit its array");
  if (m == 0 || n == 0) return NULL;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, (float)alpha,
              a + aoff, lda, b + boff, ldb, (float)beta, c + coff, ldc);
  return NULL;
}


/* ---- elementwise kernels (the hot loops around gemm; see src/numeric/kernels.ts) ---- */

static bool arg_f32(napi_env env, napi_value v, float **data, size_t *len) { return get_f32(env, v, data, len); }

static bool arg_i32arr(napi_env env, napi_value v, int32_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void *ptr = NULL;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &offset) != napi_ok || type != napi_int32_array) return false;
  *data = (int32_t *)ptr;
  return true;
}

static bool arg_u8arr(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
  napi_typedarray_type type;
  void *ptr = NULL;
  napi_value ab;
  size_t offset = 0;
  if (napi_get_typedarray_info(env, v, &type, len, &ptr, &ab, &offset) != napi_ok || type != napi_uint8_array) return false;
  *data = (uint8_t *)ptr;
  return true;
}

static bool arg_i64(napi_env env, napi_value v, int64_t *out) { return napi_get_value_int64(env, v, out) == napi_ok; }
static bool arg_f64(napi_env env, napi_value v, double *out) { return napi_get_value_double(env, v, out) == napi_ok; }

#define ARGS(N) size_t argc = (N); napi_value argv[(N)]; \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != (N)) THROW(env, "wrong number of arguments")

/* relu(y, off, n): y[off..off+n) = max(y, 0) */
static napi_value Relu(napi_env env, napi_callback_info info) {
  ARGS(3);
  float *y; size_t len; int64_t off, n;
  if (!arg_f32(env, argv[0], &y, &len) || !arg_i64(env, argv[1], &off) || !arg_i64(env, argv[2], &n)) THROW(env, "relu(y, off, n)");
  if (off < 0 || n < 0 || (uint64_t)(off + n) > len) THROW(env, "relu: range out of bounds");
  float *p = y + off;
  for (int64_t i = 0; i < n; i++) p[i] = p[i] > 0.0f ? p[i] : 0.0f;
  return NULL;
}

/* reluMask(d, y, n): d[i] = y[i] > 0 ? d[i] : 0 */
static napi_value ReluMask(napi_env env, napi_callback_info info) {
  ARGS(3);
  float *d, *y; size_t dl, yl; int64_t n;
  if (!arg_f32(env, argv[0], &d, &dl) || !arg_f32(env, argv[1], &y, &yl) || !arg_i64(env, argv[2], &n)) THROW(env, "reluMask(d, y, n)");
  if (n < 0 || (uint64_t)n > dl || (uint64_t)n > yl) THROW(env, "reluMask: n out of bounds");
  for (int64_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
  return NULL;
}

/* fillRows(out, rows, width, bias): out[r*width + j] = bias[j] */
static napi_value FillRows(napi_env env, napi_callback_info info) {
  ARGS(4);
  float *o, *b; size_t ol, bl; int64_t rows, width;
  if (!arg_f32(env, argv[0], &o, &ol) || !arg_i64(env, argv[1], &rows) || !arg_i64(env, argv[2], &width) || !arg_f32(env, argv[3], &b, &bl)) THROW(env, "fillRows(out, rows, width, bias)");
  if (rows < 0 || width < 0 || (uint64_t)width > bl || (uint64_t)(rows * width) > ol) THROW(env, "fillRows: out of bounds");
  for (int64_t r = 0; r < rows; r++) memcpy(o + r * width, b, (size_t)width * sizeof(float));
  return NULL;
}

static inline void adam_span(float *restrict w, const float *restrict g, float *restrict m, float *restrict v, int64_t n,
                             float b1, float b2, float c1, float c2, float step, float inv_bc2, float eps) {
  for (int64_t j = 0; j < n; j++) {
    float gj = g[j];
    float mj = b1 * m[j] + c1 * gj;
    float vj = b2 * v[j] + c2 * gj * gj;
    m[j] = mj;
    v[j] = vj;
    w[j] -= step * mj / (sqrtf(vj) * inv_bc2 + eps);
  }
}

/* adam(w, g, m, v, from, to, beta1, beta2, stepSize, invBc2, eps) */
static napi_value AdamDense(napi_env env, napi_callback_info info) {
  ARGS(11);
  float *w, *g, *m, *v; size_t wl, gl, ml, vl; int64_t from, to; double b1, b2, st, ib, eps;
  if (!arg_f32(env, argv[0], &w, &wl) || !arg_f32(env, argv[1], &g, &gl) || !arg_f32(env, argv[2], &m, &ml) || !arg_f32(env, argv[3], &v, &vl) ||
      !arg_i64(env, argv[4], &from) || !arg_i64(env, argv[5], &to) || !arg_f64(env, argv[6], &b1) || !arg_f64(env, argv[7], &b2) ||
      !arg_f64(env, argv[8], &st) || !arg_f64(env, argv[9], &ib) || !arg_f64(env, argv[10], &eps)) THROW(env, "adam(w, g, m, v, from, to, beta1, beta2, stepSize, invBc2, eps)");
  if (from < 0 || to < from || (uint64_t)to > wl || (uint64_t)to > gl || (uint64_t)to > ml || (uint64_t)to > vl) THROW(env, "adam: range out of bounds");
  adam_span(w + from, g + from, m + from, v + from, to - from, (float)b1, (float)b2, (float)(1 - b1), (float)(1 - b2), (float)st, (float)ib, (float)eps);
  return NULL;
}

/* adamRows(w, g, m, v, rows, count, dim, beta1, beta2, stepSize, invBc2, eps): lazy update of the listed rows */
static napi_value AdamRows(napi_env env, napi_callback_info info) {
  ARGS(12);
  float *w, *g, *m, *v; int32_t *rows; size_t wl, gl, ml, vl, rl; int64_t count, dim; double b1, b2, st, ib, eps;
  if (!arg_f32(env, argv[0], &w, &wl) || !arg_f32(env, argv[1], &g, &gl) || !arg_f32(env, argv[2], &m, &ml) || !arg_f32(env, argv[3], &v, &vl) ||
      !arg_i32arr(env, argv[4], &rows, &rl) || !arg_i64(env, argv[5], &count) || !arg_i64(env, argv[6], &dim) ||
      !arg_f64(env, argv[7], &b1) || !arg_f64(env, argv[8], &b2) || !arg_f64(env, argv[9], &st) || !arg_f64(env, argv[10], &ib) || !arg_f64(env, argv[11], &eps)) {
    THROW(env, "adamRows(w, g, m, v, rows, count, dim, beta1, beta2, stepSize, invBc2, eps)");
  }
  if (count < 0 || (uint64_t)count > rl || dim < 0 || gl != wl || ml != wl || vl != wl) THROW(env, "adamRows: bad sizes");
  uint64_t nrows = dim > 0 ? wl / (uint64_t)dim : 0;
  for (int64_t k = 0; k < count; k++) if (rows[k] < 0 || (uint64_t)rows[k] >= nrows) THROW(env, "adamRows: row out of range");
  for (int64_t k = 0; k < count; k++) {
    /* Touched rows are scattered over a table larger than the cache: fetch a few rows ahead. */
    if (k + 4 < count) {
      int64_t p = (int64_t)rows[k + 4] * dim;
      for (int64_t q = 0; q < dim; q += 16) {
        __builtin_prefetch(w + p + q, 1);
        __builtin_prefetch(g + p + q, 0);
        __builtin_prefetch(m + p + q, 1);
        __builtin_prefetch(v + p + q, 1);
      }
    }
    int64_t s = (int64_t)rows[k] * dim;
    adam_span(w + s, g + s, m + s, v + s, dim, (float)b1, (float)b2, (float)(1 - b1), (float)(1 - b2), (float)st, (float)ib, (float)eps);
  }
  return NULL;
}

/* gatherRows(table, dim, rows, count, out, stride, off): out[i*stride+off ..+dim) = table[rows[i]*dim ..+dim) */
static napi_value GatherRows(napi_env env, napi_callback_info info) {
  ARGS(7);
  float *t, *o; int32_t *rows; size_t tl, ol, rl; int64_t dim, count, stride, off;
  if (!arg_f32(env, argv[0], &t, &tl) || !arg_i64(env, argv[1], &dim) || !arg_i32arr(env, argv[2], &rows, &rl) || !arg_i64(env, argv[3], &count) ||
      !arg_f32(env, argv[4], &o, &ol) || !arg_i64(env, argv[5], &stride) || !arg_i64(env, argv[6], &off)) THROW(env, "gatherRows(table, dim, rows, count, out, stride, off)");
  if (dim < 1 || count < 0 || (uint64_t)count > rl || off < 0 || stride < dim || (count > 0 && (uint64_t)((count - 1) * stride + off + dim) > ol)) THROW(env, "gatherRows: out of bounds");
  uint64_t nrows = tl / (uint64_t)dim;
  for (int64_t i = 0; i < count; i++) if (rows[i] < 0 || (uint64_t)rows[i] >= nrows) THROW(env, "gatherRows: row out of range");
  for (int64_t i = 0; i < count; i++) memcpy(o + i * stride + off, t + (int64_t)rows[i] * dim, (size_t)dim * sizeof(float));
  return NULL;
}

/* addRowsAt(src, offsets, count, perRow, width, out, outStride):
   out[i*outStride + j] += src[offsets[i*perRow + r] + j] for every r < perRow
   whose offset is >= 0 (a sum of cached rows per output row; -1 = no row). */
static napi_value AddRowsAt(napi_env env, napi_callback_info info) {
  ARGS(7);
  float *s, *o; int32_t *offs; size_t sl, ol, offl; int64_t count, per, width, ostride;
  if (!arg_f32(env, argv[0], &s, &sl) || !arg_i32arr(env, argv[1], &offs, &offl) || !arg_i64(env, argv[2], &count) || !arg_i64(env, argv[3], &per) ||
      !arg_i64(env, argv[4], &width) || !arg_f32(env, argv[5], &o, &ol) || !arg_i64(env, argv[6], &ostride)) {
    THROW(env, "addRowsAt(src, offsets, count, perRow, width, out, outStride)");
  }
  if (count < 0 || per < 1 || width < 1 || ostride < width || (uint64_t)(count * per) > offl || (count > 0 && (uint64_t)((count - 1) * ostride + width) > ol)) {
    THROW(env, "addRowsAt: out of bounds");
  }
  for (int64_t i = 0; i < count * per; i++) if (offs[i] >= 0 && (uint64_t)offs[i] + (uint64_t)width > sl) THROW(env, "addRowsAt: row offset out of range");
  for (int64_t i = 0; i < count; i++) {
    float *restrict dst = o + i * ostride;
    for (int64_t r = 0; r < per; r++) {
      const int32_t off = offs[i * per + r];
      if (off < 0) continue;
      const float *restrict src = s + off;
      for (int64_t j = 0; j < width; j++) dst[j] += src[j];
    }
  }
  return NULL;
}

/* sumRowsToSlots(table, dim, rows, capacity, slotOf, positions, slotCount, batch, out, outStride, outOffset):
   for every example b < batch: zero slots 0..slotCount-1 (dim floats each) of out row b at outOffset, then
   for j = 0..positions-1 in order add table row rows[j*capacity + b] into slot slotOf[j]
   (the baselines' dense inputs: several fields' embeddings summed per slot). Same additions in the same
   order as the TypeScript loop, so the same float32 results. */
static napi_value SumRowsToSlots(napi_env env, napi_callback_info info) {
  ARGS(11);
  float *t, *o; int32_t *rows, *slot; size_t tl, ol, rl, sl; int64_t dim, cap, positions, slots, batch, ostride, ooff;
  if (!arg_f32(env, argv[0], &t, &tl) || !arg_i64(env, argv[1], &dim) || !arg_i32arr(env, argv[2], &rows, &rl) || !arg_i64(env, argv[3], &cap) ||
      !arg_i32arr(env, argv[4], &slot, &sl) || !arg_i64(env, argv[5], &positions) || !arg_i64(env, argv[6], &slots) || !arg_i64(env, argv[7], &batch) ||
      !arg_f32(env, argv[8], &o, &ol) || !arg_i64(env, argv[9], &ostride) || !arg_i64(env, argv[10], &ooff)) {
    THROW(env, "sumRowsToSlots(table, dim, rows, capacity, slotOf, positions, slotCount, batch, out, outStride, outOffset)");
  }
  if (dim < 1 || cap < 0 || batch < 0 || batch > cap || positions < 0 || (uint64_t)positions > sl || slots < 0 || ooff < 0 ||
      ostride < ooff + slots * dim || (uint64_t)(positions * cap) > rl || (batch > 0 && (uint64_t)((batch - 1) * ostride + ooff + slots * dim) > ol)) {
    THROW(env, "sumRowsToSlots: out of bounds");
  }
  uint64_t nrows = tl / (uint64_t)dim;
  for (int64_t j = 0; j < positions; j++) {
    if (slot[j] < 0 || slot[j] >= slots) THROW(env, "sumRowsToSlots: slot out of range");
    for (int64_t b = 0; b < batch; b++) if (rows[j * cap + b] < 0 || (uint64_t)rows[j * cap + b] >= nrows) THROW(env, "sumRowsToSlots: row out of range");
  }
  for (int64_t b = 0; b < batch; b++) {
    float *restrict dst = o + b * ostride + ooff;
    memset(dst, 0, (size_t)(slots * dim) * sizeof(float));
    for (int64_t j = 0; j < positions; j++) {
      float *restrict d = dst + (int64_t)slot[j] * dim;
      const float *restrict src = t + (int64_t)rows[j * cap + b] * dim;
      for (int64_t k = 0; k < dim; k++) d[k] += src[k];
    }
  }
  return NULL;
}

/* scatterRowsAt(src, srcStride, count, perRow, width, offsets, out): the transpose of addRowsAt:
   out[offsets[i*perRow + r] + j] += src[i*srcStride + j] for every r < perRow whose offset is >= 0. */
static napi_value ScatterRowsAt(napi_env env, napi_callback_info info) {
  ARGS(7);
  float *s, *o; int32_t *offs; size_t sl, ol, offl; int64_t sstride, count, per, width;
  if (!arg_f32(env, argv[0], &s, &sl) || !arg_i64(env, argv[1], &sstride) || !arg_i64(env, argv[2], &count) || !arg_i64(env, argv[3], &per) ||
      !arg_i64(env, argv[4], &width) || !arg_i32arr(env, argv[5], &offs, &offl) || !arg_f32(env, argv[6], &o, &ol)) {
    THROW(env, "scatterRowsAt(src, srcStride, count, perRow, width, offsets, out)");
  }
  if (count < 0 || per < 1 || width < 1 || sstride < width || (uint64_t)(count * per) > offl || (count > 0 && (uint64_t)((count - 1) * sstride + width) > sl)) {
    THROW(env, "scatterRowsAt: out of bounds");
  }
  for (int64_t i = 0; i < count * per; i++) if (offs[i] >= 0 && (uint64_t)offs[i] + (uint64_t)width > ol) THROW(env, "scatterRowsAt: row offset out of range");
  for (int64_t i = 0; i < count; i++) {
    const float *restrict src = s + i * sstride;
    for (int64_t r = 0; r < per; r++) {
      const int32_t off = offs[i * per + r];
      if (off < 0) continue;
      float *restrict dst = o + off;
      for (int64_t j = 0; j < width; j++) dst[j] += src[j];
    }
  }
  return NULL;
}

/* scatterAddRows(grad, dim, rows, count, d, stride, off, flags, touched, touchedCount) -> new touchedCount */
static napi_value ScatterAddRows(napi_env env, napi_callback_info info) {
  ARGS(10);
  float *g, *d; int32_t *rows, *touched; uint8_t *flags; size_t gl, dl, rl, tl, fl; int64_t dim, count, stride, off, tc;
  if (!arg_f32(env, argv[0], &g, &gl) || !arg_i64(env, argv[1], &dim) || !arg_i32arr(env, argv[2], &rows, &rl) || !arg_i64(env, argv[3], &count) ||
      !arg_f32(env, argv[4], &d, &dl) || !arg_i64(env, argv[5], &stride) || !arg_i64(env, argv[6], &off) ||
      !arg_u8arr(env, argv[7], &flags, &fl) || !arg_i32arr(env, argv[8], &touched, &tl) || !arg_i64(env, argv[9], &tc)) {
    THROW(env, "scatterAddRows(grad, dim, rows, count, d, stride, off, flags, touched, touchedCount)");
  }
  uint64_t nrows = dim > 0 ? gl / (uint64_t)dim : 0;
  if (dim < 1 || count < 0 || (uint64_t)count > rl || off < 0 || stride < dim || (count > 0 && (uint64_t)((count - 1) * stride + off + dim) > dl) ||
      fl != nrows || tl != nrows || tc < 0 || (uint64_t)tc > nrows) THROW(env, "scatterAddRows: out of bounds");
  for (int64_t i = 0; i < count; i++) if (rows[i] < 0 || (uint64_t)rows[i] >= nrows) THROW(env, "scatterAddRows: row out of range");
  for (int64_t i = 0; i < count; i++) {
    int32_t r = rows[i];
    float *dst = g + (int64_t)r * dim;
    const float *src = d + i * stride + off;
    for (int64_t j = 0; j < dim; j++) dst[j] += src[j];
    if (!flags[r]) { flags[r] = 1; touched[tc++] = r; }
  }
  napi_value out;
  napi_create_int64(env, tc, &out);
  return out;
}

/* colSumAdd(d, rows, width, out): out[j] += sum_r d[r*width + j] (bias gradients) */
static napi_value ColSumAdd(napi_env env, napi_callback_info info) {
  ARGS(4);
  float *d, *o; size_t dl, ol; int64_t rows, width;
  if (!arg_f32(env, argv[0], &d, &dl) || !arg_i64(env, argv[1], &rows) || !arg_i64(env, argv[2], &width) || !arg_f32(env, argv[3], &o, &ol)) THROW(env, "colSumAdd(d, rows, width, out)");
  if (rows < 0 || width < 0 || (uint64_t)width > ol || (uint64_t)(rows * width) > dl) THROW(env, "colSumAdd: out of bounds");
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict src = d + r * width;
    float *restrict dst = o;
    for (int64_t j = 0; j < width; j++) dst[j] += src[j];
  }
  return NULL;
}

/* segDot(a, rows, heads, h, w, bias, out): out[b*heads+g] = bias[g] + sum_j a[b*heads*h + g*h + j] * w[g*h + j]
   (the last layer of an MlpGroup whose heads have one output each) */
static napi_value SegDot(napi_env env, napi_callback_info info) {
  ARGS(7);
  float *a, *w, *bias, *o; size_t al, wl, bl, ol; int64_t rows, heads, h;
  if (!arg_f32(env, argv[0], &a, &al) || !arg_i64(env, argv[1], &rows) || !arg_i64(env, argv[2], &heads) || !arg_i64(env, argv[3], &h) ||
      !arg_f32(env, argv[4], &w, &wl) || !arg_f32(env, argv[5], &bias, &bl) || !arg_f32(env, argv[6], &o, &ol)) THROW(env, "segDot(a, rows, heads, h, w, bias, out)");
  if (rows < 0 || heads < 1 || h < 1 || (uint64_t)(rows * heads * h) > al || (uint64_t)(heads * h) > wl || (uint64_t)heads > bl || (uint64_t)(rows * heads) > ol) THROW(env, "segDot: out of bounds");
  for (int64_t b = 0; b < rows; b++) {
    for (int64_t g = 0; g < heads; g++) {
      const float *restrict x = a + (b * heads + g) * h;
      const float *restrict wg = w + g * h;
      /* 8 independent partial sums so the compiler can vectorise the reduction without -ffast-math */
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t j = 0;
      for (; j + 8 <= h; j += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[j + k] * wg[j + k];
      float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      for (; j < h; j++) s += x[j] * wg[j];
      o[b * heads + g] = bias[g] + s;
    }
  }
  return NULL;
}

/* segDotBackward(dOut, a, rows, heads, h, w, gW, dA): gW[g*h+j] += sum_b dOut[b*heads+g] a[b, g*h+j];
   dA[b, g*h+j] = dOut[b*heads+g] * w[g*h+j] */
static napi_value SegDotBackward(napi_env env, napi_callback_info info) {
  ARGS(8);
  float *d, *a, *w, *gw, *da; size_t dl, al, wl, gwl, dal; int64_t rows, heads, h;
  if (!arg_f32(env, argv[0], &d, &dl) || !arg_f32(env, argv[1], &a, &al) || !arg_i64(env, argv[2], &rows) || !arg_i64(env, argv[3], &heads) ||
      !arg_i64(env, argv[4], &h) || !arg_f32(env, argv[5], &w, &wl) || !arg_f32(env, argv[6], &gw, &gwl) || !arg_f32(env, argv[7], &da, &dal)) {
    THROW(env, "segDotBackward(dOut, a, rows, heads, h, w, gW, dA)");
  }
  int64_t width = heads * h;
  if (rows < 0 || heads < 1 || h < 1 || (uint64_t)(rows * heads) > dl || (uint64_t)(rows * width) > al || (uint64_t)width > wl || (uint64_t)width > gwl || (uint64_t)(rows * width) > dal) {
    THROW(env, "segDotBackward: out of bounds");
  }
  for (int64_t b = 0; b < rows; b++) {
    for (int64_t g = 0; g < heads; g++) {
      const float dv = d[b * heads + g];
      const float *restrict x = a + b * width + g * h;
      const float *restrict wg = w + g * h;
      float *restrict gg = gw + g * h;
      float *restrict dx = da + b * width + g * h;
      for (int64_t j = 0; j < h; j++) {
        gg[j] += dv * x[j];
        dx[j] = dv * wg[j];
      }
    }
  }
  return NULL;
}

/* zeroRows(grad, dim, rows, count, flags): zero the listed rows and clear their flags */
static napi_value ZeroRows(napi_env env, napi_callback_info info) {
  ARGS(5);
  float *g; int32_t *rows; uint8_t *flags; size_t gl, rl, fl; int64_t dim, count;
  if (!arg_f32(env, argv[0], &g, &gl) || !arg_i64(env, argv[1], &dim) || !arg_i32arr(env, argv[2], &rows, &rl) || !arg_i64(env, argv[3], &count) ||
      !arg_u8arr(env, argv[4], &flags, &fl)) THROW(env, "zeroRows(grad, dim, rows, count, flags)");
  uint64_t nrows = dim > 0 ? gl / (uint64_t)dim : 0;
  if (dim < 1 || count < 0 || (uint64_t)count > rl || fl != nrows) THROW(env, "zeroRows: out of bounds");
  for (int64_t i = 0; i < count; i++) if (rows[i] < 0 || (uint64_t)rows[i] >= nrows) THROW(env, "zeroRows: row out of range");
  for (int64_t i = 0; i < count; i++) {
    memset(g + (int64_t)rows[i] * dim, 0, (size_t)dim * sizeof(float));
    flags[rows[i]] = 0;
  }
  return NULL;
}

static napi_value SetNumThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t t = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &t) != napi_ok || t < 1) THROW(env, "setNumThreads expects a positive integer");
  openblas_set_num_threads(t);
  return NULL;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  const char *cfg = openblas_get_config();
  napi_create_string_utf8(env, cfg ? cfg : "OpenBLAS", NAPI_AUTO_LENGTH, &out);
  return out;
}

static napi_value Init(napi_env env, napi_value exports) {
  openblas_set_num_threads(1);
  napi_property_descriptor props[] = {
    {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_default, NULL},
    {"setNumThreads", NULL, SetNumThreads, NULL, NULL, NULL, napi_default, NULL},
    {"config", NULL, Config, NULL, NULL, NULL, napi_default, NULL},
    {"relu", NULL, Relu, NULL, NULL, NULL, napi_default, NULL},
    {"reluMask", NULL, ReluMask, NULL, NULL, NULL, napi_default, NULL},
    {"fillRows", NULL, FillRows, NULL, NULL, NULL, napi_default, NULL},
    {"adam", NULL, AdamDense, NULL, NULL, NULL, napi_default, NULL},
    {"adamRows", NULL, AdamRows, NULL, NULL, NULL, napi_default, NULL},
    {"gatherRows", NULL, GatherRows, NULL, NULL, NULL, napi_default, NULL},
    {"addRowsAt", NULL, AddRowsAt, NULL, NULL, NULL, napi_default, NULL},
    {"scatterAddRows", NULL, ScatterAddRows, NULL, NULL, NULL, napi_default, NULL},
    {"sumRowsToSlots", NULL, SumRowsToSlots, NULL, NULL, NULL, napi_default, NULL},
    {"scatterRowsAt", NULL, ScatterRowsAt, NULL, NULL, NULL, napi_default, NULL},
    {"colSumAdd", NULL, ColSumAdd, NULL, NULL, NULL, napi_default, NULL},
    {"segDot", NULL, SegDot, NULL, NULL, NULL, napi_default, NULL},
    {"segDotBackward", NULL, SegDotBackward, NULL, NULL, NULL, napi_default, NULL},
    {"zeroRows", NULL, ZeroRows, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
