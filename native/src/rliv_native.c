/*
 * rliv_native: the optional N-API addon behind the `openblas` gemm backend
 * (src/numeric/gemm.ts). It exposes row-major cblas_sgemm with element
 * offsets into Float32Arrays, so fused layers multiply sub-blocks in place.
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
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
