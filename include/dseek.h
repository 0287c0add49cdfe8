/*
 * dseek.h — the public interface of dseek, an embeddable C library that runs
 * DeepSeek-R1-family language models on CPUs.
 *
 * This header is the manual: every type and function a host may use is declared
 * and documented here, and nothing else of the library is visible.
 *
 * ------------------------------------------------------------------------------
 * CONVENTIONS (read once; they hold for every function below)
 * ------------------------------------------------------------------------------
 *
 * Status and errors.
 *   Every fallible function returns a dseek_status. DSEEK_OK is 0; every error
 *   is non-zero. On error, dseek_last_error() returns a human-readable message
 *   for the calling thread (e.g. "model.gguf: tensor 'blk.0.attn_q.weight': data
 *   range [4096, 8192) exceeds file size 5000"). Output parameters are left
 *   untouched on error unless documented otherwise. The library never aborts,
 *   exits or prints on bad input.
 *
 * Options (ABI-safe).
 *   Functions that take many settings take a pointer to an options struct whose
 *   FIRST member is `size_t struct_size`. Initialise it with the matching
 *   dseek_XXX_options_init(&opts, sizeof opts) function, then change the fields
 *   you care about. The library reads only the fields covered by struct_size,
 *   so a host compiled against an older header keeps working with a newer
 *   library: fields are only ever appended. A NULL options pointer means "all
 *   defaults". Structs are never passed or returned by value.
 *
 * Handles and ownership.
 *   Objects are opaque handles (dseek_gguf, and later dseek_model,
 *   dseek_context, dseek_sampler) created by an open or create function and
 *   released by the matching close or free function. Free functions accept
 *   NULL. Strings returned by the library are owned by the handle they came
 *   from and stay valid until that handle is released, unless documented
 *   otherwise.
 *
 * Threads.
 *   dseek_last_error() is per thread. Read-only handles (a dseek_gguf, a loaded
 *   model) may be shared by many threads at once. A handle that carries mutable
 *   state (a context) must be used by one thread at a time. The log settings are
 *   process-wide; set them before other threads call into the library.
 *
 * Sizes and indices are int64_t (element counts) or size_t (byte counts).
 * Every exported symbol starts with `dseek_` or `DSEEK_`.
 */
#ifndef DSEEK_H
#define DSEEK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(DSEEK_BUILDING_LIBRARY)
#  define DSEEK_API __declspec(dllexport)
#elif defined(_WIN32)
#  define DSEEK_API
#elif defined(__GNUC__)
#  define DSEEK_API __attribute__((visibility("default")))
#else
#  define DSEEK_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */
/* ------------------------------------------------------------------------ */

#define DSEEK_VERSION_MAJOR 0
#define DSEEK_VERSION_MINOR 1
#define DSEEK_VERSION_PATCH 0
#define DSEEK_VERSION_STRING "0.1.0"
/** MAJOR*10000 + MINOR*100 + PATCH, comparable with dseek_version_number(). */
#define DSEEK_VERSION_NUMBER \
  (DSEEK_VERSION_MAJOR * 10000 + DSEEK_VERSION_MINOR * 100 + DSEEK_VERSION_PATCH)

/** The library's version as "MAJOR.MINOR.PATCH" (static string). A host can
 *  compare it with DSEEK_VERSION_STRING to check header and library agree. */
DSEEK_API const char *dseek_version(void);

/** The library's version as DSEEK_VERSION_NUMBER would compute it. */
DSEEK_API int dseek_version_number(void);

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */
/* ------------------------------------------------------------------------ */

/** Result of every fallible call. Values are stable and never renumbered. */
typedef enum dseek_status {
  DSEEK_OK = 0,
  DSEEK_ERR_INVALID_ARG = 1,   /**< a NULL pointer, out-of-range value, bad struct_size */
  DSEEK_ERR_IO = 2,            /**< a file could not be opened, read or mapped */
  DSEEK_ERR_FORMAT = 3,        /**< a file is malformed (the message names file and field) */
  DSEEK_ERR_UNSUPPORTED = 4,   /**< well-formed input this version cannot handle */
  DSEEK_ERR_NO_MEMORY = 5,     /**< an allocation failed or would exceed a limit */
  DSEEK_ERR_NOT_FOUND = 6,     /**< a named key, tensor or item does not exist */
  DSEEK_ERR_TYPE = 7,          /**< a value exists but has another type */
  DSEEK_ERR_CONTEXT_FULL = 8,  /**< the context has no room for more tokens */
  DSEEK_ERR_CANCELLED = 9,     /**< stopped by the host (callback or cancel) */
  DSEEK_ERR_INTERNAL = 10      /**< a bug in dseek; please report it */
} dseek_status;

/** A static English name for a status, e.g. "format error". Unknown values
 *  give "unknown status". Never NULL. */
DSEEK_API const char *dseek_status_string(dseek_status status);

/** The message of the last error raised on the calling thread, or "" if
 *  none. The pointer stays valid until the next dseek call on this thread. */
DSEEK_API const char *dseek_last_error(void);

/** Forget the calling thread's last error message. */
DSEEK_API void dseek_clear_error(void);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum dseek_log_level {
  DSEEK_LOG_NONE = 0,   /**< as a level: log nothing (the default) */
  DSEEK_LOG_ERROR = 1,
  DSEEK_LOG_WARN = 2,
  DSEEK_LOG_INFO = 3,
  DSEEK_LOG_DEBUG = 4
} dseek_log_level;

/** A host log sink: one complete message (no trailing newline) per call. */
typedef void (*dseek_log_fn)(dseek_log_level level, const char *message, void *user_data);

/** Install a log sink (NULL restores the default sink, which writes to
 *  stderr). Process-wide. */
DSEEK_API void dseek_set_log_callback(dseek_log_fn fn, void *user_data);

/** Messages at or below `level` are delivered to the sink; DSEEK_LOG_NONE
 *  (the default) silences the library completely. Process-wide. Values
 *  outside the enum are clamped. */
DSEEK_API void dseek_set_log_level(dseek_log_level level);

/* ------------------------------------------------------------------------ */
/* Tensor element types                                                      */
/* ------------------------------------------------------------------------ */

/** Element types of weights. Numbers 0-30 equal GGUF's ggml type ids; types
 *  that GGUF lacks (FP8 as in DeepSeek's own checkpoints) use 100 and up. */
typedef enum dseek_type {
  DSEEK_TYPE_F32 = 0,
  DSEEK_TYPE_F16 = 1,
  DSEEK_TYPE_Q4_0 = 2,
  DSEEK_TYPE_Q4_1 = 3,
  DSEEK_TYPE_Q5_0 = 6,
  DSEEK_TYPE_Q5_1 = 7,
  DSEEK_TYPE_Q8_0 = 8,
  DSEEK_TYPE_Q8_1 = 9,
  DSEEK_TYPE_Q2_K = 10,
  DSEEK_TYPE_Q3_K = 11,
  DSEEK_TYPE_Q4_K = 12,
  DSEEK_TYPE_Q5_K = 13,
  DSEEK_TYPE_Q6_K = 14,
  DSEEK_TYPE_Q8_K = 15,
  DSEEK_TYPE_I8 = 24,
  DSEEK_TYPE_I16 = 25,
  DSEEK_TYPE_I32 = 26,
  DSEEK_TYPE_I64 = 27,
  DSEEK_TYPE_F64 = 28,
  DSEEK_TYPE_BF16 = 30,
  DSEEK_TYPE_F8_E4M3 = 100     /**< e4m3fn bytes; block scales live in a separate tensor */
} dseek_type;

/** The conventional name of a type id ("F32", "Q4_K", "IQ2_XXS", ...),
 *  including GGUF types dseek cannot compute with; "unknown" otherwise. */
DSEEK_API const char *dseek_type_name(int type);

/* ------------------------------------------------------------------------ */
/* GGUF files: metadata and tensor directory                                 */
/* ------------------------------------------------------------------------ */

/** A parsed GGUF file (v2 or v3). Immutable once opened: may be shared by
 *  threads. Every length, count, offset and dimension in the file has been
 *  validated against the file size when dseek_gguf_open() returns DSEEK_OK. */
typedef struct dseek_gguf dseek_gguf;

/** Metadata value types, numbered as in the GGUF format. */
typedef enum dseek_gguf_value_type {
  DSEEK_GGUF_UINT8 = 0,
  DSEEK_GGUF_INT8 = 1,
  DSEEK_GGUF_UINT16 = 2,
  DSEEK_GGUF_INT16 = 3,
  DSEEK_GGUF_UINT32 = 4,
  DSEEK_GGUF_INT32 = 5,
  DSEEK_GGUF_FLOAT32 = 6,
  DSEEK_GGUF_BOOL = 7,
  DSEEK_GGUF_STRING = 8,
  DSEEK_GGUF_ARRAY = 9,
  DSEEK_GGUF_UINT64 = 10,
  DSEEK_GGUF_INT64 = 11,
  DSEEK_GGUF_FLOAT64 = 12
} dseek_gguf_value_type;

/** Flags for dseek_gguf_open(). */
#define DSEEK_GGUF_NO_MMAP 0x1u  /**< read the file into memory instead of mapping it */

/** Open and validate a GGUF file. On success *out receives a handle to release
 *  with dseek_gguf_close(). Errors: DSEEK_ERR_INVALID_ARG (NULL path/out,
 *  unknown flags), DSEEK_ERR_IO, DSEEK_ERR_FORMAT (message names the file and
 *  the offending field), DSEEK_ERR_NO_MEMORY. */
DSEEK_API dseek_status dseek_gguf_open(const char *path, unsigned flags, dseek_gguf **out);

/** Release a handle from dseek_gguf_open(). NULL is allowed. */
DSEEK_API void dseek_gguf_close(dseek_gguf *gguf);

/** The file's GGUF version (2 or 3); 0 for NULL. */
DSEEK_API uint32_t dseek_gguf_version(const dseek_gguf *gguf);

/** The data alignment in bytes (general.alignment, default 32); 0 for NULL. */
DSEEK_API uint64_t dseek_gguf_alignment(const dseek_gguf *gguf);

/** Number of metadata keys; -1 for NULL. */
DSEEK_API int64_t dseek_gguf_key_count(const dseek_gguf *gguf);

/** The name of key i (NUL-terminated, valid UTF-8), or NULL if out of range. */
DSEEK_API const char *dseek_gguf_key_name(const dseek_gguf *gguf, int64_t i);

/** Index of the key named `key`, or -1 if absent (or on NULL arguments). */
DSEEK_API int64_t dseek_gguf_find_key(const dseek_gguf *gguf, const char *key);

/** Value type of key i as a dseek_gguf_value_type, or -1 if out of range. */
DSEEK_API int dseek_gguf_key_type(const dseek_gguf *gguf, int64_t i);

/** For an array-valued key i: its element type (-1 if not an array). */
DSEEK_API int dseek_gguf_array_type(const dseek_gguf *gguf, int64_t i);

/** For an array-valued key i: its length (-1 if not an array). */
DSEEK_API int64_t dseek_gguf_array_length(const dseek_gguf *gguf, int64_t i);

/** Read key i as a signed integer: any integer type or bool, provided the
 *  value fits (a UINT64 above INT64_MAX gives DSEEK_ERR_TYPE). */
DSEEK_API dseek_status dseek_gguf_get_int(const dseek_gguf *gguf, int64_t i, int64_t *out);

/** Read key i as a double: FLOAT32, FLOAT64, or any integer type. */
DSEEK_API dseek_status dseek_gguf_get_float(const dseek_gguf *gguf, int64_t i, double *out);

/** Read key i as a bool (BOOL only). *out is 0 or 1. */
DSEEK_API dseek_status dseek_gguf_get_bool(const dseek_gguf *gguf, int64_t i, int *out);

/** Read a STRING key. *str is NUL-terminated and owned by the handle; *len
 *  (optional, may be NULL) is its length in bytes (strings may hold NULs). */
DSEEK_API dseek_status dseek_gguf_get_string(const dseek_gguf *gguf, int64_t i,
                                             const char **str, size_t *len);

/** Element `idx` of an integer or bool array key, as for dseek_gguf_get_int. */
DSEEK_API dseek_status dseek_gguf_get_array_int(const dseek_gguf *gguf, int64_t i,
                                                int64_t idx, int64_t *out);

/** Element `idx` of a numeric array key, as for dseek_gguf_get_float. */
DSEEK_API dseek_status dseek_gguf_get_array_float(const dseek_gguf *gguf, int64_t i,
                                                  int64_t idx, double *out);

/** Element `idx` of a string array key, as for dseek_gguf_get_string. */
DSEEK_API dseek_status dseek_gguf_get_array_string(const dseek_gguf *gguf, int64_t i,
                                                   int64_t idx, const char **str, size_t *len);

/** Number of tensors; -1 for NULL. */
DSEEK_API int64_t dseek_gguf_tensor_count(const dseek_gguf *gguf);

/** Index of the tensor named `name`, or -1. */
DSEEK_API int64_t dseek_gguf_find_tensor(const dseek_gguf *gguf, const char *name);

/** Description of one tensor, filled by dseek_gguf_tensor_info(). Set
 *  struct_size = sizeof(dseek_tensor_info) before the call. */
typedef struct dseek_tensor_info {
  size_t struct_size;
  const char *name;     /**< owned by the handle */
  int type;             /**< a dseek_type / ggml type id */
  int n_dims;           /**< 1..4 */
  int64_t ne[4];        /**< elements per dimension, ne[0] the row length; unused dims are 1 */
  uint64_t offset;      /**< byte offset relative to the start of the data section */
  uint64_t size;        /**< bytes of data */
  const void *data;     /**< the bytes (mapped or read), valid while the handle lives */
} dseek_tensor_info;

/** Describe tensor i. Only the fields that info->struct_size covers are
 *  written. Errors: DSEEK_ERR_INVALID_ARG (NULL, out of range, struct_size
 *  smaller than the first two members). */
DSEEK_API dseek_status dseek_gguf_tensor_info(const dseek_gguf *gguf, int64_t i,
                                              dseek_tensor_info *info);

/* ------------------------------------------------------------------------ */
/* Samplers: turn a row of logits into the next token                        */
/* ------------------------------------------------------------------------ */

/** A sampler is a chain of stages applied in the order they were added, then
 *  a final draw: from the softmax of the surviving candidates with the
 *  sampler's own seeded random generator, or the single best candidate when
 *  the chain ends in greedy selection (or temperature 0). The same seed, chain
 *  and logits give the same tokens on every machine. A sampler keeps the
 *  history of sampled (and accepted) tokens for the penalties stage; it is
 *  used by one thread at a time. */
typedef struct dseek_sampler dseek_sampler;

/** Create an empty chain (which, on its own, samples from the full softmax of
 *  the logits) whose random generator starts from `seed`. */
DSEEK_API dseek_status dseek_sampler_create(uint64_t seed, dseek_sampler **out);

/** Release a sampler. NULL is allowed. */
DSEEK_API void dseek_sampler_free(dseek_sampler *sampler);

/** Stage: repetition penalties over the last `last_n` tokens of the history
 *  (last_n >= 0; 0 disables). A token seen c > 0 times has its logit l
 *  replaced by (l > 0 ? l / repeat : l * repeat) and then decreased by
 *  c * frequency + presence. repeat > 0 (1 = off). */
DSEEK_API dseek_status dseek_sampler_add_penalties(dseek_sampler *sampler, int32_t last_n,
                                                   float repeat, float frequency, float presence);

/** Stage: add `bias` to the logit of `token` (call again for more tokens; a
 *  bias of -INFINITY bans the token). Consecutive calls share one stage. */
DSEEK_API dseek_status dseek_sampler_add_logit_bias(dseek_sampler *sampler, int32_t token, float bias);

/** Stage: keep the k candidates with the largest logits (k >= 1). */
DSEEK_API dseek_status dseek_sampler_add_top_k(dseek_sampler *sampler, int32_t k);

/** Stage: nucleus sampling — keep the smallest set of most likely candidates
 *  whose probabilities sum to at least p (0 < p <= 1). */
DSEEK_API dseek_status dseek_sampler_add_top_p(dseek_sampler *sampler, float p);

/** Stage: keep candidates whose probability is at least p times that of the
 *  most likely one (0 <= p <= 1). */
DSEEK_API dseek_status dseek_sampler_add_min_p(dseek_sampler *sampler, float p);

/** Stage: divide logits by `temperature` (>= 0). Temperature 0 keeps only the
 *  most likely candidate (greedy). */
DSEEK_API dseek_status dseek_sampler_add_temperature(dseek_sampler *sampler, float temperature);

/** Stage: keep only the most likely candidate (ties: the lowest token id). */
DSEEK_API dseek_status dseek_sampler_add_greedy(dseek_sampler *sampler);

/** Choose a token from `logits` (n_vocab values) and append it to the history.
 *  Errors: DSEEK_ERR_INVALID_ARG (NULL, n_vocab < 1, NaN logits, a logit-bias
 *  token >= n_vocab, or every candidate at -infinity). */
DSEEK_API dseek_status dseek_sampler_sample(dseek_sampler *sampler, const float *logits,
                                            int64_t n_vocab, int32_t *token);

/** Append a token chosen elsewhere (e.g. the prompt) to the history. */
DSEEK_API dseek_status dseek_sampler_accept(dseek_sampler *sampler, int32_t token);

/** Forget the history and restart the random generator from `seed`. */
DSEEK_API dseek_status dseek_sampler_reset(dseek_sampler *sampler, uint64_t seed);

#ifdef __cplusplus
}
#endif

#endif /* DSEEK_H */
