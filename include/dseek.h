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

/* Windows: functions are exported from dseek.dll while it is built and
 * imported from it by users; users of the static library define DSEEK_STATIC.
 * Elsewhere: default visibility (the library hides everything else). */
#if defined(_WIN32) && defined(DSEEK_STATIC)
#  define DSEEK_API
#elif defined(_WIN32) && defined(DSEEK_BUILDING_LIBRARY)
#  define DSEEK_API __declspec(dllexport)
#elif defined(_WIN32)
#  define DSEEK_API __declspec(dllimport)
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
  DSEEK_ERR_INTERNAL = 10,     /**< a bug in dseek; please report it */
  DSEEK_ERR_BUFFER_TOO_SMALL = 11 /**< the output buffer is too small; the needed size was reported */
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
  DSEEK_TYPE_IQ2_XXS = 16,
  DSEEK_TYPE_IQ2_XS = 17,
  DSEEK_TYPE_IQ3_XXS = 18,
  DSEEK_TYPE_IQ1_S = 19,
  DSEEK_TYPE_IQ4_NL = 20,
  DSEEK_TYPE_IQ3_S = 21,
  DSEEK_TYPE_IQ2_S = 22,
  DSEEK_TYPE_IQ4_XS = 23,
  DSEEK_TYPE_I8 = 24,
  DSEEK_TYPE_I16 = 25,
  DSEEK_TYPE_I32 = 26,
  DSEEK_TYPE_I64 = 27,
  DSEEK_TYPE_F64 = 28,
  DSEEK_TYPE_IQ1_M = 29,
  DSEEK_TYPE_BF16 = 30,
  DSEEK_TYPE_F8_E4M3 = 100     /**< e4m3fn bytes; block scales live in a separate tensor */
} dseek_type;

/** The conventional name of a type id ("F32", "Q4_K", "IQ2_XXS", ...),
 *  including GGUF types dseek cannot compute with; "unknown" otherwise. */
DSEEK_API const char *dseek_type_name(int type);

/** How a matrix product with a weight of `type` runs in this process: the
 *  kernel level the CPU dispatch picks (the best this CPU has, capped by the
 *  DSEEK_CPU environment variable) and the kernel at that level, e.g.
 *  "avx512: int8 dot on int8 activations, 16-row tile for 16+ columns" or
 *  "scalar: rows decoded to f32, f32 dot". `experts` non-zero: the product
 *  of a MoE layer's routed experts (a stacked [in, out, n_expert] weight),
 *  which has kernels of its own. Written NUL-terminated to buf (truncated to
 *  size - 1). Errors: DSEEK_ERR_INVALID_ARG (NULL buf, size 0),
 *  DSEEK_ERR_UNSUPPORTED (a type dseek cannot compute with; buf still gets
 *  "not supported"). */
DSEEK_API dseek_status dseek_type_kernel(int type, int experts, char *buf, size_t size);

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

/** Split models. Large GGUFs come in shards written by llama.cpp's
 *  gguf-split, named PREFIX-00001-of-00004.gguf ... PREFIX-00004-of-00004.gguf.
 *  Each shard is a GGUF of its own; dseek_gguf_open() opens one shard and
 *  shows only its tensors. The split keys are ordinary keys of every shard:
 *  "split.no" (0-based number of this shard), "split.count" (shards in the
 *  set) and "split.tensors.count" (tensors in all shards); the model's other
 *  metadata is in shard 1 (split.no 0). To see the whole model, open each
 *  shard, its path from dseek_gguf_split_path(); a tensor's offset and data
 *  are within the shard that lists it. dseek_model_load() does all of this
 *  itself given any one shard. */

/** The path of shard `split_no` (0-based, as split.no) of the split model
 *  that `path` (any shard's path) belongs to: path with its
 *  -NNNNN-of-MMMMM.gguf suffix renumbered, written NUL-terminated to buf.
 *  *len_out (optional) receives the length without the NUL. Errors:
 *  DSEEK_ERR_INVALID_ARG (NULL path/buf, a name without the split suffix,
 *  split_no outside [0, MMMMM)), DSEEK_ERR_BUFFER_TOO_SMALL (size < length +
 *  1; *len_out still set). */
DSEEK_API dseek_status dseek_gguf_split_path(const char *path, int split_no, char *buf, size_t size,
                                             size_t *len_out);

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
/* Models                                                                    */
/* ------------------------------------------------------------------------ */

/** A loaded model: weights, hyperparameters, tokenizer and chat template.
 *  Immutable after load: one model may be shared by any number of contexts
 *  on any number of threads. */
typedef struct dseek_model dseek_model;

/** Load progress: fraction in [0, 1]. Return non-zero to cancel the load
 *  (dseek_model_load then returns DSEEK_ERR_CANCELLED). */
typedef int (*dseek_progress_fn)(float fraction, void *user_data);

/** Options of dseek_model_load(). */
typedef struct dseek_model_options {
  size_t struct_size;          /**< sizeof(dseek_model_options) */
  int vocab_only;              /**< load only the tokenizer (default 0) */
  int no_mmap;                 /**< read weights into memory instead of mapping the file (default 0);
                                    a mapped file that fits in the memory available is mapped whole at
                                    load (MAP_POPULATE), so first uses of experts take no page faults */
  dseek_progress_fn progress;  /**< optional load progress callback (default NULL) */
  void *progress_user_data;
} dseek_model_options;

/** Fill *opts with defaults. struct_size is the caller's sizeof(*opts); only
 *  that many bytes are written. Errors: DSEEK_ERR_INVALID_ARG. */
DSEEK_API dseek_status dseek_model_options_init(dseek_model_options *opts, size_t struct_size);

/** Load a model from a GGUF file or a Hugging Face checkpoint directory
 *  (config.json + *.safetensors [+ tokenizer.json]). opts may be NULL.
 *  Errors: DSEEK_ERR_INVALID_ARG, DSEEK_ERR_IO, DSEEK_ERR_FORMAT (message names
 *  the file and field), DSEEK_ERR_UNSUPPORTED (architecture or weight type),
 *  DSEEK_ERR_NO_MEMORY, DSEEK_ERR_CANCELLED. */
DSEEK_API dseek_status dseek_model_load(const char *path, const dseek_model_options *opts,
                                        dseek_model **out);

/** Release a model. Every context created from it must be freed first. */
DSEEK_API void dseek_model_free(dseek_model *model);

/** Architecture name as the file declares it ("qwen2", "llama", "deepseek2");
 *  a vocab-only model still reports its file's architecture. NULL for NULL. */
DSEEK_API const char *dseek_model_arch(const dseek_model *model);

/** Model facts; -1 for NULL (or 0 when vocab-only). */
DSEEK_API int64_t dseek_model_n_vocab(const dseek_model *model);    /**< logits per token */
DSEEK_API int64_t dseek_model_n_embd(const dseek_model *model);
DSEEK_API int64_t dseek_model_n_layer(const dseek_model *model);
DSEEK_API int64_t dseek_model_n_ctx_train(const dseek_model *model);
DSEEK_API int64_t dseek_model_n_params(const dseek_model *model);
/** Bytes of weights (as stored). */
DSEEK_API int64_t dseek_model_weight_bytes(const dseek_model *model);

/** Parameter counts (learned weights: matrices, norms, biases, routers;
 *  computed scales and rope tables not included). Set struct_size. */
typedef struct dseek_param_counts {
  size_t struct_size;
  int64_t total;        /**< the main model: everything but the MTP layers */
  int64_t active;       /**< what a token's forward pass multiplies with (DeepSeek's convention:
                             V3 671B total, 36.6B active): total minus the routed experts a
                             token does not select (n_expert - n_expert_used per MoE layer)
                             and minus the embedding table (one row is read) unless it is
                             also the tied output head */
  int64_t mtp;          /**< MTP layers (deepseek2 nextn) without their embedding and output
                             head, which are the main model's (V3 ships copies); 0 if none */
  int64_t kv_values_per_token;   /**< KV cache values per token, all layers: 2 Hkv head_dim
                                      per layer (dense), kv_lora_rank + qk_rope (deepseek2) */
} dseek_param_counts;

/** Counts of a loaded model, from its tensors. Errors: DSEEK_ERR_INVALID_ARG
 *  (NULL, vocab-only model). */
DSEEK_API dseek_status dseek_model_param_counts(const dseek_model *model, dseek_param_counts *out);

/** Weight bytes and parameters held in element type `type` (a dseek_type) as
 *  loaded (FP8 weights with their scale grids; norms converted to F32 count
 *  as F32). Zero when none. Errors: DSEEK_ERR_INVALID_ARG. */
DSEEK_API dseek_status dseek_model_weights_of_type(const dseek_model *model, int type, int64_t *n_params,
                                                   int64_t *bytes);

/** Counts of a deepseek2 model (deepseek_v2 / deepseek_v3) from a Hugging
 *  Face config.json alone, no weights needed: size a checkpoint before
 *  downloading it. n_layer > 0 replaces num_hidden_layers (extrapolation
 *  from a config with fewer layers; 0: the config's). Errors:
 *  DSEEK_ERR_INVALID_ARG, DSEEK_ERR_IO, DSEEK_ERR_FORMAT (the message names
 *  the field), DSEEK_ERR_UNSUPPORTED (another model_type). */
DSEEK_API dseek_status dseek_config_param_counts(const char *config_json, int64_t n_layer, dseek_param_counts *out);

/* ------------------------------------------------------------------------ */
/* Text: tokenizer and chat template                                         */
/* ------------------------------------------------------------------------ */
/* The text functions need the model's tokenizer; a model loaded from a
 * checkpoint directory without tokenizer files has none, and they return
 * DSEEK_ERR_UNSUPPORTED ("model has no tokenizer"). Output buffers follow one
 * rule: the needed count is always stored in the length output, and when the
 * buffer is too small the call returns DSEEK_ERR_BUFFER_TOO_SMALL, so a host
 * may call once with capacity 0 to size its buffer. */

/** Non-zero if the model carries a tokenizer. */
DSEEK_API int dseek_model_has_vocab(const dseek_model *model);

/** Special token ids; -1 if the model has none. */
DSEEK_API int32_t dseek_token_bos(const dseek_model *model);
DSEEK_API int32_t dseek_token_eos(const dseek_model *model);

/** Non-zero if `token` ends generation (EOS and the model's other end tokens). */
DSEEK_API int dseek_token_is_eog(const dseek_model *model, int32_t token);

/** Tokenize len bytes of UTF-8 text. add_special: prepend BOS when the model
 *  asks for it. parse_special: match control tokens written in the text (such
 *  as "<｜begin▁of▁sentence｜>"); when 0 they are plain text. Added tokens the
 *  vocabulary marks as non-special (DeepSeek's "<｜User｜>", "<think>") are
 *  always matched, as the reference tokenizers do. Errors: DSEEK_ERR_INVALID_ARG
 *  (NULL, invalid UTF-8 — the message gives the byte offset),
 *  DSEEK_ERR_BUFFER_TOO_SMALL (*n_tokens holds the count needed). */
DSEEK_API dseek_status dseek_tokenize(const dseek_model *model, const char *text, size_t len,
                                      int add_special, int parse_special,
                                      int32_t *tokens, int64_t capacity, int64_t *n_tokens);

/** The bytes of n tokens as text. Tokens that end inside a UTF-8 sequence are
 *  completed by the following ones; bytes that never form valid UTF-8 become
 *  U+FFFD. The text is NUL-terminated when capacity allows (not counted in
 *  *length). Errors: DSEEK_ERR_INVALID_ARG (NULL, token out of range),
 *  DSEEK_ERR_BUFFER_TOO_SMALL. */
DSEEK_API dseek_status dseek_detokenize(const dseek_model *model, const int32_t *tokens, int64_t n,
                                        char *text, size_t capacity, size_t *length);

/** The raw bytes of one token (possibly part of a UTF-8 sequence); owned by
 *  the model. */
DSEEK_API dseek_status dseek_token_piece(const dseek_model *model, int32_t token,
                                         const char **piece, size_t *length);

/** Render a conversation with the model's chat template (DeepSeek R1 / V3
 *  families; earlier reasoning is stripped from assistant turns as the R1
 *  template does). roles[i] is "system", "user", "assistant" or "tool".
 *  With add_generation_prompt the text ends where the model's reply starts
 *  (for R1, inside "<think>\n"). Errors: DSEEK_ERR_UNSUPPORTED (no tokenizer,
 *  or an unrecognised template: pass a raw prompt instead),
 *  DSEEK_ERR_INVALID_ARG (unknown role), DSEEK_ERR_BUFFER_TOO_SMALL. */
DSEEK_API dseek_status dseek_chat_render(const dseek_model *model, const char *const *roles,
                                         const char *const *contents, int64_t n_messages,
                                         int add_generation_prompt,
                                         char *text, size_t capacity, size_t *length);

/* ------------------------------------------------------------------------ */
/* Contexts: KV cache, evaluation, logits                                    */
/* ------------------------------------------------------------------------ */

/** A context evaluates tokens with a model and keeps their KV cache. Used by
 *  one thread at a time (different contexts may run concurrently). */
typedef struct dseek_context dseek_context;

/** Options of dseek_context_create(). Start from dseek_context_options_init();
 *  a zero n_ctx, n_batch or n_threads means "choose for me". */
typedef struct dseek_context_options {
  size_t struct_size;     /**< sizeof(dseek_context_options) */
  int64_t n_ctx;          /**< tokens the KV cache holds (default: min(4096, trained length)) */
  int64_t n_batch;        /**< tokens evaluated per graph run (default 512) */
  int n_threads;          /**< threads (default: physical cores) */
  int kv_type;            /**< KV cache element type: DSEEK_TYPE_F16 (the default set by init), F32,
                               BF16 or Q8_0 (34 bytes per 32 values; needs every cached row block
                               aligned: head_dim a multiple of 32 (dense), kv_lora_rank and qk_rope
                               multiples of 32 (deepseek2), else DSEEK_ERR_UNSUPPORTED) */
  /* Appended in 0.1. */
  int64_t memory_limit;   /**< bytes the context may take (KV cache and work buffers, see
                               dseek_context_memory_estimate); 0 (default): the memory the system
                               reports available (Linux MemAvailable) */
} dseek_context_options;

/** Fill *opts with defaults (see dseek_model_options_init). */
DSEEK_API dseek_status dseek_context_options_init(dseek_context_options *opts, size_t struct_size);

/** Create a context. The memory it needs (dseek_context_memory_estimate) is
 *  checked against opts->memory_limit, or else the memory available, before
 *  the cache is allocated. Errors: DSEEK_ERR_INVALID_ARG (NULL, vocab-only
 *  model, bad option), DSEEK_ERR_UNSUPPORTED (a kv_type the model's cache
 *  rows cannot take), DSEEK_ERR_NO_MEMORY (the message gives the bytes needed
 *  and the limit). */
DSEEK_API dseek_status dseek_context_create(const dseek_model *model, const dseek_context_options *opts,
                                            dseek_context **out);

/** Release a context. NULL is allowed. */
DSEEK_API void dseek_context_free(dseek_context *ctx);

/** Forget every cached token (the next decode starts at position 0). */
DSEEK_API dseek_status dseek_context_reset(dseek_context *ctx);

/** Capacity in tokens, and tokens currently cached; -1 for NULL. */
DSEEK_API int64_t dseek_context_n_ctx(const dseek_context *ctx);
DSEEK_API int64_t dseek_context_n_past(const dseek_context *ctx);

/** Copy the ids of the tokens the context holds (positions 0 .. n_past-1)
 *  into tokens[0..capacity); *n_tokens receives n_past. Errors:
 *  DSEEK_ERR_INVALID_ARG, DSEEK_ERR_BUFFER_TOO_SMALL. */
DSEEK_API dseek_status dseek_context_tokens(const dseek_context *ctx, int32_t *tokens, int64_t capacity,
                                            int64_t *n_tokens);

/** Bytes the KV cache takes per cached token (all layers). */
DSEEK_API int64_t dseek_context_kv_bytes_per_token(const dseek_context *ctx);

/** What a context needs (dseek_context_memory_estimate). Set struct_size. */
typedef struct dseek_memory_estimate {
  size_t struct_size;
  int64_t n_ctx;                /**< the cache size the options resolve to */
  int64_t kv_bytes_per_token;   /**< all layers, at the options' kv_type */
  int64_t kv_bytes;             /**< n_ctx x kv_bytes_per_token */
  int64_t work_bytes;           /**< the forward passes' work buffers (one-token and n_batch
                                     graphs) and the logits row */
  int64_t total_bytes;          /**< kv_bytes + work_bytes: what dseek_context_create checks */
} dseek_memory_estimate;

/** The memory a context with these options (NULL: defaults) would take with
 *  this model, without creating it. The model's weights are not included
 *  (dseek_model_weight_bytes). Errors: as dseek_context_create, except that
 *  no limit is checked. */
DSEEK_API dseek_status dseek_context_memory_estimate(const dseek_model *model, const dseek_context_options *opts,
                                                     dseek_memory_estimate *out);

/** Context shift: forget the cached tokens [n_keep, n_keep + n_discard) and
 *  move the later ones down by n_discard positions, so that generation can go
 *  on in a full context (keep n_keep >= the system prompt's tokens). The kept
 *  keys are re-rotated to their new positions (rope rotations compose:
 *  R(p - d) = R(-d) R(p), also with YaRN); deepseek2 re-rotates only the rope
 *  key k_pe of its latent rows, c_kv carries no position. Later keys keep what
 *  they computed while the dropped tokens were visible, as in llama.cpp's
 *  context shift. No logits are available until the next evaluation. Errors:
 *  DSEEK_ERR_INVALID_ARG (NULL, n_keep < 0, n_discard < 1, n_keep + n_discard
 *  > n_past). */
DSEEK_API dseek_status dseek_context_shift(dseek_context *ctx, int64_t n_keep, int64_t n_discard);

/** Save the context's cached tokens and KV cache to a file. The file names
 *  the model it belongs to (a fingerprint of its architecture, sizes and
 *  weights). Errors: DSEEK_ERR_INVALID_ARG, DSEEK_ERR_IO. */
DSEEK_API dseek_status dseek_context_save(const dseek_context *ctx, const char *path);

/** Replace the context's cache with a saved one. A file from another model,
 *  with another KV type, or damaged is refused (DSEEK_ERR_FORMAT) and the
 *  context is left as it was; DSEEK_ERR_CONTEXT_FULL if it holds more tokens
 *  than the context. No logits are available until the next evaluation; a
 *  dseek_generate whose prompt starts with the saved tokens reuses them. */
DSEEK_API dseek_status dseek_context_load(dseek_context *ctx, const char *path);

/** Evaluate n tokens at the next positions, appending them to the cache.
 *  With all_logits non-zero, logits are kept for every token of the call,
 *  otherwise for the last one only. Errors: DSEEK_ERR_INVALID_ARG (NULL, n < 1,
 *  a token outside [0, n_vocab)), DSEEK_ERR_CONTEXT_FULL (nothing evaluated:
 *  n_past + n > n_ctx). */
DSEEK_API dseek_status dseek_decode(dseek_context *ctx, const int32_t *tokens, int64_t n, int all_logits);

/** Logits (n_vocab floats) of token i of the last dseek_decode call; i = -1
 *  means its last token. NULL if unavailable (no decode yet, or i not kept).
 *  Valid until the next call on this context. */
DSEEK_API const float *dseek_logits(const dseek_context *ctx, int64_t i);

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

/** Stage: constrain the output to a grammar in GBNF (the subset llama.cpp
 *  documents: rules `name ::= ...`, alternation |, sequences, groups ( ),
 *  ? * + {m} {m,} {m,n}, "literals" and [classes] with ranges, negation [^...]
 *  and escapes \n \r \t \\ \" \xHH \uHHHH \UHHHHHHHH, . for any
 *  character, # comments), starting at rule `root` (NULL: "root"). The
 *  grammar is over Unicode text: a token may end inside a UTF-8 character.
 *  Only tokens that continue a sentence of the grammar can be drawn (control
 *  and added tokens never), end-of-generation tokens only where the sentence
 *  may end, and nothing else once it must end. The mask applies before every
 *  other stage wherever the grammar was added. Every token drawn or passed to
 *  dseek_sampler_accept advances the grammar, so accept only output tokens;
 *  dseek_sampler_reset starts it over; a clone starts at its beginning.
 *  Errors: DSEEK_ERR_INVALID_ARG (NULL), DSEEK_ERR_FORMAT (the message gives
 *  "grammar: line L column C: what" — undefined rules, unbalanced brackets,
 *  left recursion, ...), DSEEK_ERR_UNSUPPORTED (a model without tokenizer).
 *  The token trie it uses is built once per model (about 0.1 s for 150k
 *  tokens) and kept with it. */
DSEEK_API dseek_status dseek_sampler_add_grammar(dseek_sampler *sampler, const dseek_model *model,
                                                 const char *gbnf, const char *root);

/** Translate a JSON schema into NUL-terminated GBNF text (rule "root") for
 *  dseek_sampler_add_grammar or dseek_generate_options.grammar. Supported:
 *  type (name or list), properties/required (additionalProperties absent or
 *  false: only the listed properties, in their order), items, minItems,
 *  maxItems, enum, const, pattern (literals, classes, . \d \w \s, groups,
 *  |, quantifiers, ^ $), minLength, maxLength, minimum, maximum,
 *  exclusiveMinimum, exclusiveMaximum (integers exact; numbers: a subset of
 *  the range, see README), anyOf, oneOf (treated as anyOf), $ref to "#",
 *  "#/$defs/NAME", "#/definitions/NAME", and annotations (title, description,
 *  default, examples, $schema, $id, $comment). Anything else is
 *  DSEEK_ERR_UNSUPPORTED naming the keyword and its JSON path, e.g.
 *  "json schema: #/properties/email: keyword 'format' is not supported".
 *  Buffer rule as for the text functions (*length always gets the size);
 *  DSEEK_ERR_FORMAT for malformed JSON (line and column). */
DSEEK_API dseek_status dseek_json_schema_to_grammar(const char *schema, char *gbnf, size_t capacity,
                                                    size_t *length);

/** A new sampler with the same chain (stages and their settings, not the
 *  history) whose generator starts from `seed`. */
DSEEK_API dseek_status dseek_sampler_clone(const dseek_sampler *sampler, uint64_t seed, dseek_sampler **out);

/* ------------------------------------------------------------------------ */
/* Generation                                                                */
/* ------------------------------------------------------------------------ */

/** Which part of the model's output a streamed piece belongs to. R1-family
 *  models reason inside <think> ... </think> before answering; the tags
 *  themselves are never delivered. */
typedef enum dseek_piece_kind {
  DSEEK_PIECE_REASONING = 1,
  DSEEK_PIECE_CONTENT = 2
} dseek_piece_kind;

/** Streaming callback: one piece of valid UTF-8 text (not NUL-terminated).
 *  Return non-zero to stop generation. */
typedef int (*dseek_stream_fn)(dseek_piece_kind kind, const char *text, size_t length, void *user_data);

/** Why generation stopped. */
typedef enum dseek_stop_reason {
  DSEEK_STOP_NONE = 0,
  DSEEK_STOP_EOS = 1,           /**< the model ended its turn */
  DSEEK_STOP_MAX_TOKENS = 2,    /**< max_tokens were generated */
  DSEEK_STOP_STRING = 3,        /**< a stop string appeared (it is not delivered) */
  DSEEK_STOP_CALLBACK = 4,      /**< the stream callback returned non-zero */
  DSEEK_STOP_CONTEXT_FULL = 5,  /**< the context has no room for another token */
  DSEEK_STOP_LOW_CONFIDENCE = 6,/**< parallel: the chain's group confidence fell below the warm-up
                                     threshold (dseek_confidence_options.early_stop); it does not vote */
  DSEEK_STOP_SETTLED = 7        /**< parallel: the vote was settled (dseek_confidence_options.consensus)
                                     while the chain ran; it does not vote */
} dseek_stop_reason;

/** Extract the final answer from one sample's answer text (and reasoning).
 *  Write it to answer (capacity bytes, NUL-terminated) and return its length,
 *  or return -1 if the sample has no answer. */
typedef int64_t (*dseek_extract_fn)(const char *content, const char *reasoning, char *answer, size_t capacity,
                                    void *user_data);

/* Confidence (appended in 0.1): after "Deep Think with Confidence" (DeepConf;
 * Fu, Wang, Tian, Zhao, 2025, arXiv 2508.15260). Every generated token gets
 *   logprob     log P(chosen token)
 *   confidence  C_i = -(1/k) sum_{j=1..k} log P_i(j) over the k most probable
 *               tokens (DeepConf eq. 2; high = a peaked distribution)
 * with P_i = softmax of the logits handed to the sampler (the model's
 * distribution after a grammar's mask, before the sampler's temperature and
 * truncation stages). A trace's group confidence C_G is the mean C_i over a
 * sliding window of `window` tokens (eq. 4). */

/** Trace-level confidence measures (DeepConf section 3.1). */
typedef enum dseek_confidence_measure {
  DSEEK_CONFIDENCE_LOWEST_GROUP = 0,  /**< the least C_G over the trace's windows (eq. 6; default) */
  DSEEK_CONFIDENCE_MEAN = 1,          /**< the mean C_i of the trace (eq. 3) */
  DSEEK_CONFIDENCE_BOTTOM_10 = 2,     /**< the mean of the lowest 10% of the C_G (eq. 5) */
  DSEEK_CONFIDENCE_TAIL = 3           /**< the mean C_i of the last `tail` tokens */
} dseek_confidence_measure;

/** One generated token as dseek_generate_options.on_token reports it. */
typedef struct dseek_token_info {
  size_t struct_size;           /**< sizeof(dseek_token_info) of the library */
  int64_t sample;               /**< the chain (dseek_generate_parallel), 0 for dseek_generate */
  int64_t index;                /**< the token's index in the chain's output, from 0 */
  int32_t token;
  float logprob;                /**< log P(token) */
  float confidence;             /**< C_i */
  float group_confidence;       /**< C_G of the last `window` tokens; NaN before `window` tokens */
} dseek_token_info;

/** Per-token callback: return non-zero to stop generation (dseek_generate:
 *  DSEEK_STOP_CALLBACK; parallel: that chain stops with DSEEK_STOP_CALLBACK). */
typedef int (*dseek_token_fn)(const dseek_token_info *info, void *user_data);

/** Options of the confidence signals and of confidence-guided parallel
 *  generation (DeepConf's offline and online algorithms). */
typedef struct dseek_confidence_options {
  size_t struct_size;           /**< sizeof(dseek_confidence_options) */
  int32_t top_k;                /**< k of the token confidence, 1..64 (default 20) */
  int64_t window;               /**< tokens in a group (default 2048, the paper's); a trace shorter
                                     than the window has one group, its mean */
  int64_t tail;                 /**< tokens of the tail confidence (default 2048) */
  /* Voting (dseek_samples_vote_confidence). */
  int measure;                  /**< a dseek_confidence_measure scoring a trace (default LOWEST_GROUP) */
  int weighted;                 /**< 1 (default): an answer's weight is the sum of its chains' scores
                                     (eq. 7); 0: one vote per chain (plain majority) */
  double keep_top;              /**< eta: only the highest-scoring fraction of the chains with an
                                     answer vote (eq. 8; default 1: all; the paper's 0.1 and 0.9) */
  /* Online early stop (dseek_generate_parallel). */
  int early_stop;               /**< 1: the first n_warmup chains run to the end and set the threshold
                                     s = the stop_percentile-th percentile of their lowest group
                                     confidences; every later chain stops
                                     (DSEEK_STOP_LOW_CONFIDENCE) at the first full window with
                                     C_G < s. 0 (default): off */
  int64_t n_warmup;             /**< warm-up chains (default 16, the paper's; clamped to n_samples) */
  double stop_percentile;       /**< 0..100 (default 90: DeepConf-low, keeping the top 10%; 10:
                                     DeepConf-high, the top 90%) */
  /* Adaptive count (dseek_generate_parallel). */
  double consensus;             /**< tau in (0, 1]: once at least n_warmup chains have finished, no
                                     chain starts and the running ones stop (DSEEK_STOP_SETTLED) as
                                     soon as the leading answer of the weighted vote (measure,
                                     weighted, keep_top) holds this share of the weight (the
                                     paper's 0.95); 0 (default): off, all n_samples chains run */
  int64_t width;                /**< chains decoded at once (default 0: n_samples, or n_warmup with a
                                     consensus, so chains start in waves); a finished or
                                     stopped chain's cache rows go to the next chain to start, so
                                     the context needs prompt + width x max_tokens tokens */
  dseek_extract_fn extract;     /**< answers for the adaptive vote (NULL: as dseek_samples_vote) */
  void *extract_user_data;
} dseek_confidence_options;

/** Reasoning handling. */
typedef enum dseek_reasoning_mode {
  DSEEK_REASONING_AUTO = 0,     /**< the prompt ending in "<think>" (after whitespace) opens the reasoning */
  DSEEK_REASONING_OFF = 1,      /**< everything is content */
  DSEEK_REASONING_OPEN = 2      /**< output starts inside the reasoning */
} dseek_reasoning_mode;

/** Options of dseek_generate(). */
typedef struct dseek_generate_options {
  size_t struct_size;           /**< sizeof(dseek_generate_options) */
  int64_t max_tokens;           /**< tokens to generate at most (default 512) */
  dseek_sampler *sampler;       /**< NULL: greedy */
  const char *const *stop;      /**< stop strings (default none) */
  int64_t n_stop;
  dseek_stream_fn stream;       /**< optional streaming callback */
  void *stream_user_data;
  int reasoning;                /**< a dseek_reasoning_mode (default AUTO) */
  int add_special;              /**< prepend BOS if the model wants it (default 1); see dseek_tokenize */
  int parse_special;            /**< special tokens in the prompt are tokens (default 1) */
  /* Test-time compute (appended in 0.1; lib/models/README.md §4). */
  int64_t max_thinking_tokens;  /**< -1 (default): unlimited. N >= 0: after N reasoning tokens the
                                     reasoning is closed by injecting think_close (0: at once,
                                     with just "</think>\n\n") and the answer follows */
  int64_t min_thinking_tokens;  /**< budget forcing (default 0): while fewer reasoning tokens were
                                     generated, an attempt to close the reasoning or to end the
                                     turn is replaced by think_continue */
  const char *think_close;      /**< NULL: "\n\nConsidering the limited time, I have to give the
                                     answer now.\n</think>\n\n"; must contain "</think>" */
  const char *think_continue;   /**< NULL: "\nWait" */
  /* Speculative decoding (appended in 0.1). */
  dseek_context *draft;         /**< a context of a smaller model with the same vocabulary that
                                     drafts tokens for this one (NULL: none). The output is exactly
                                     the greedy output with a greedy chain, and distributed exactly
                                     as without a draft otherwise. Not with repetition penalties. */
  int64_t n_draft;              /**< tokens drafted per step, 1..64 (default 4) */
  /* MTP speculative decoding (appended in 0.1). */
  int use_mtp;                  /**< 1: the model's own MTP layer (deepseek2 models that carry one,
                                     lib/models/README.md §1.7) drafts one token per step,
                                     verified with the next in one batch; same guarantees as
                                     `draft` (not together with it; n_draft is not used).
                                     UNSUPPORTED for other models.
                                     The result's n_draft_tokens / n_draft_accepted count the
                                     drafts. The context keeps the main model's hidden state per
                                     position (n_ctx x hidden size floats) and the MTP layer's
                                     own latent cache from the first such call on. */
  /* Constrained answers (appended in 0.1; see dseek_sampler_add_grammar). */
  const char *grammar;          /**< GBNF text (start rule "root") the answer must match (NULL: none) */
  const char *json_schema;      /**< a JSON schema the answer must satisfy (NULL: none; not with
                                     grammar); see dseek_json_schema_to_grammar */
  int constrain_after_reasoning;/**< 1 (default): the constraint starts right after </think> (also a
                                     closing forced by max_thinking_tokens), so the reasoning is
                                     never constrained; from the first token when the output does
                                     not start inside <think> (reasoning OFF, a prompt without
                                     "<think>", budget 0). 0: from the first token. */
  const char *trigger;          /**< NULL (default), or: the constraint starts after this text
                                     appears in what the model writes (after the reasoning ends,
                                     if constrain_after_reasoning; text injected by the thinking
                                     budget does not count). Grammar fields (and a sampler with a
                                     grammar stage): not with a draft model, use_mtp,
                                     or in dseek_generate_parallel (INVALID_ARG) */
  /* Context shift (appended in 0.1; see dseek_context_shift). */
  int context_shift;            /**< 1: when the context is full during generation, keep the first
                                     n_keep tokens, drop half of the rest and go on (llama.cpp's
                                     --context-shift); 0 (default): stop with
                                     DSEEK_STOP_CONTEXT_FULL. Not with a draft model, use_mtp or
                                     in dseek_generate_parallel (INVALID_ARG). */
  int64_t n_keep;               /**< tokens kept at the start by a shift (default 0; clamped to the
                                     prompt's length) */
  /* Confidence (appended in 0.1; see dseek_confidence_options). */
  const struct dseek_confidence_options *confidence; /**< NULL: defaults (token statistics only) */
  dseek_token_fn on_token;      /**< optional: called for every sampled token with its logprob and
                                     confidence (not for injected tokens, nor with a draft or use_mtp:
                                     INVALID_ARG) */
  void *on_token_user_data;
} dseek_generate_options;

/** Fill *opts with defaults (see dseek_model_options_init). */
DSEEK_API dseek_status dseek_generate_options_init(dseek_generate_options *opts, size_t struct_size);

/** What a generation did. Set struct_size before the call; only the fields it
 *  covers are written. */
typedef struct dseek_generate_result {
  size_t struct_size;
  int stop_reason;              /**< a dseek_stop_reason */
  int64_t n_prompt_tokens;
  int64_t n_generated_tokens;   /**< reasoning and answer together */
  int64_t n_reasoning_tokens;
  double prompt_seconds;        /**< prompt evaluation time */
  double generate_seconds;      /**< time spent generating after the prompt */
  int64_t n_cached_tokens;      /**< prompt tokens reused from the context's cache (not evaluated) */
  int64_t n_forced_tokens;      /**< tokens injected by the thinking budget or budget forcing */
  int64_t n_draft_tokens;       /**< speculative decoding: tokens the draft proposed ... */
  int64_t n_draft_accepted;     /**< ... and how many the model accepted */
  /* Confidence of the sampled tokens (appended in 0.1; 0 with a draft or use_mtp, or no token). */
  double mean_confidence;       /**< mean C_i */
  double lowest_group_confidence;   /**< least C_G over full windows (the mean if shorter) */
  double bottom10_group_confidence; /**< mean of the lowest 10% of the C_G */
  double tail_confidence;       /**< mean C_i of the last `tail` tokens */
  double sum_logprob;           /**< sum of the chosen tokens' log-probabilities */
  int64_t n_scored_tokens;      /**< tokens the statistics cover (sampled, not injected) */
} dseek_generate_result;

/** Fill *opts with defaults (see dseek_model_options_init). */
DSEEK_API dseek_status dseek_confidence_options_init(dseek_confidence_options *opts, size_t struct_size);

/** Generate a reply to `prompt` (text given to the model as is: render a
 *  conversation with dseek_chat_render() first). The context keeps the tokens
 *  of its previous call: the longest common prefix of the new prompt with them
 *  is reused, not evaluated again (multi-turn chat does not re-read its
 *  history), and the rest of the cache is discarded.
 *  Text streams to opts->stream as it is produced, split into reasoning and
 *  content. Errors: DSEEK_ERR_INVALID_ARG, DSEEK_ERR_UNSUPPORTED (no
 *  tokenizer), DSEEK_ERR_CONTEXT_FULL (the prompt does not fit; running out of
 *  room later ends generation with DSEEK_STOP_CONTEXT_FULL instead). The
 *  result (may be NULL) is filled on success. */
DSEEK_API dseek_status dseek_generate(dseek_context *ctx, const char *prompt,
                                      const dseek_generate_options *opts, dseek_generate_result *result);

/* ------------------------------------------------------------------------ */
/* Parallel samples and self-consistency voting                              */
/* ------------------------------------------------------------------------ */

/** The outcome of dseek_generate_parallel(): n samples of one prompt. */
typedef struct dseek_samples dseek_samples;

/** Generate n_samples independent replies to one prompt, decoded together in
 *  one batch: the prompt is evaluated once and its KV cache is shared (not
 *  copied) by every sample, and each step reads the weights once for all
 *  samples. Sample i uses a clone of opts->sampler seeded with seeds[i]
 *  (seeds NULL: i), so it produces exactly the text that dseek_generate gives
 *  with a sampler of that seed. opts: max_tokens, stop strings, reasoning
 *  mode, add_special and parse_special apply; streaming, the thinking budget
 *  and a draft model are not available here (DSEEK_ERR_INVALID_ARG if set). The context
 *  must hold the prompt plus width x max_tokens tokens (width: at most
 *  opts->confidence->width chains run at once, default all n_samples); each
 *  running chain has an equal share of the room after the prompt and a chain
 *  that fills it stops with DSEEK_STOP_CONTEXT_FULL.
 *  Confidence (opts->confidence, DeepConf's online algorithm): early_stop
 *  stops weak chains against a threshold the warm-up chains set, consensus
 *  starts no more chains once the weighted vote is settled; both are
 *  deterministic for fixed seeds and the same for any thread count. The
 *  samples handle then holds the chains that started (dseek_samples_count
 *  may be below n_samples); each chain's result gives its tokens and stop
 *  reason. On success *out holds the samples (free with dseek_samples_free). */
DSEEK_API dseek_status dseek_generate_parallel(dseek_context *ctx, const char *prompt, int64_t n_samples,
                                               const uint64_t *seeds, const dseek_generate_options *opts,
                                               dseek_samples **out);

DSEEK_API void dseek_samples_free(dseek_samples *samples);
DSEEK_API int64_t dseek_samples_count(const dseek_samples *samples);          /**< -1 for NULL */
/** Answer and reasoning text of sample i (owned by samples, NUL-terminated;
 *  *length, if not NULL, receives the byte length: the text may itself hold
 *  NUL bytes); NULL if i is out of range. */
DSEEK_API const char *dseek_samples_content(const dseek_samples *samples, int64_t i, size_t *length);
DSEEK_API const char *dseek_samples_reasoning(const dseek_samples *samples, int64_t i, size_t *length);
/** Counts of sample i (prompt tokens, stop reason, ...), as for dseek_generate. */
DSEEK_API dseek_status dseek_samples_result(const dseek_samples *samples, int64_t i, dseek_generate_result *result);


/** Self-consistency: extract every sample's answer (extract NULL: the content
 *  of the last \boxed{...}, else the last non-empty line of the content,
 *  trimmed) and return the most frequent one with its vote count (ties: the
 *  answer that appeared first; samples stopped by DSEEK_STOP_LOW_CONFIDENCE
 *  or DSEEK_STOP_SETTLED do not vote). *answer is owned by samples; NULL with
 *  0 votes when no sample has an answer. */
DSEEK_API dseek_status dseek_samples_vote(dseek_samples *samples, dseek_extract_fn extract, void *user_data,
                                          const char **answer, int64_t *votes);

/** Confidence-weighted self-consistency (DeepConf eq. 7-8): as
 *  dseek_samples_vote, but the chains that kept an answer are scored by
 *  opts->measure, only the top opts->keep_top fraction of them vote, and an
 *  answer weighs the sum of its chains' scores (opts->weighted; else their
 *  count). Chains stopped for low confidence or a settled vote never vote.
 *  *share (may be NULL) receives the winner's share of the voting weight,
 *  *weight (may be NULL) its weight. opts NULL: defaults. */
DSEEK_API dseek_status dseek_samples_vote_confidence(dseek_samples *samples, dseek_extract_fn extract,
                                                     void *user_data, const dseek_confidence_options *opts,
                                                     const char **answer, double *weight, double *share);

/** Sample i's per-token log-probabilities and confidences C_i (owned by
 *  samples; *n tokens, the sampled ones). */
DSEEK_API dseek_status dseek_samples_tokens(const dseek_samples *samples, int64_t i, const float **logprobs,
                                            const float **confidences, int64_t *n);

/** The early-stop threshold the warm-up chains set (NaN without early_stop). */
DSEEK_API double dseek_samples_stop_threshold(const dseek_samples *samples);

/** The answer extracted from sample i by the last dseek_samples_vote call
 *  (NULL if it had none or no vote ran). */
DSEEK_API const char *dseek_samples_answer(const dseek_samples *samples, int64_t i);

/** Ask the generation running on ctx (in another thread) to stop; it returns
 *  DSEEK_ERR_CANCELLED within one token and the context stays usable. Safe
 *  to call from any thread; a call when nothing runs has no effect on the
 *  next generation. */
DSEEK_API dseek_status dseek_cancel(dseek_context *ctx);

#ifdef __cplusplus
}
#endif

#endif /* DSEEK_H */
