"""ctypes mirror of include/dseek.h: the option/result structs and the
prototype (argtypes/restype) of every function the package calls.

The structs copy the header field for field, in order; the library reads only
the first ``struct_size`` bytes, so each is initialised with the matching
``dseek_*_options_init(ptr, ctypes.sizeof(struct))``. Handles are opaque and
kept as ``c_void_p``.
"""

from __future__ import annotations

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int32,
                    c_int64, c_size_t, c_uint64, c_void_p)

from . import _library

lib, library_path = _library.load()

# enum dseek_status
OK = 0
ERR_INVALID_ARG = 1
ERR_IO = 2
ERR_FORMAT = 3
ERR_UNSUPPORTED = 4
ERR_NO_MEMORY = 5
ERR_NOT_FOUND = 6
ERR_TYPE = 7
ERR_CONTEXT_FULL = 8
ERR_CANCELLED = 9
ERR_INTERNAL = 10
ERR_BUFFER_TOO_SMALL = 11

# enum dseek_type: the KV cache types a context accepts
TYPE_F32 = 0
TYPE_F16 = 1
TYPE_BF16 = 30
TYPE_Q8_0 = 8

# enum dseek_piece_kind
PIECE_REASONING = 1
PIECE_CONTENT = 2

# int (*dseek_progress_fn)(float fraction, void *user_data)
progress_fn = CFUNCTYPE(c_int, c_float, c_void_p)
# int (*dseek_stream_fn)(dseek_piece_kind, const char *text, size_t length, void *user_data)
# text is not NUL-terminated: take it as a pointer and read `length` bytes.
stream_fn = CFUNCTYPE(c_int, c_int, c_void_p, c_size_t, c_void_p)
# void (*dseek_log_fn)(dseek_log_level level, const char *message, void *user_data)
log_fn = CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class ModelOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("vocab_only", c_int),
        ("no_mmap", c_int),
        ("progress", progress_fn),
        ("progress_user_data", c_void_p),
    ]


class ContextOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("n_ctx", c_int64),
        ("n_batch", c_int64),
        ("n_threads", c_int),
        ("kv_type", c_int),
        ("memory_limit", c_int64),
    ]


class TokenInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("sample", c_int64),
        ("index", c_int64),
        ("token", c_int32),
        ("logprob", c_float),
        ("confidence", c_float),
        ("group_confidence", c_float),
        ("n_top", c_int32),
        ("top_tokens", c_void_p),        # const int32_t *
        ("top_logprobs", c_void_p),      # const float *
    ]


token_fn = CFUNCTYPE(c_int, POINTER(TokenInfo), c_void_p)
extract_fn = CFUNCTYPE(c_int64, c_char_p, c_char_p, c_void_p, c_size_t, c_void_p)


class ConfidenceOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("top_k", c_int32),
        ("window", c_int64),
        ("tail", c_int64),
        ("measure", c_int),
        ("weighted", c_int),
        ("keep_top", c_double),
        ("early_stop", c_int),
        ("n_warmup", c_int64),
        ("stop_percentile", c_double),
        ("consensus", c_double),
        ("width", c_int64),
        ("extract", extract_fn),
        ("extract_user_data", c_void_p),
    ]


class GenerateOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("max_tokens", c_int64),
        ("sampler", c_void_p),
        ("stop", POINTER(c_char_p)),
        ("n_stop", c_int64),
        ("stream", stream_fn),
        ("stream_user_data", c_void_p),
        ("reasoning", c_int),
        ("add_special", c_int),
        ("parse_special", c_int),
        ("max_thinking_tokens", c_int64),
        ("min_thinking_tokens", c_int64),
        ("think_close", c_char_p),
        ("think_continue", c_char_p),
        ("draft", c_void_p),
        ("n_draft", c_int64),
        ("use_mtp", c_int),
        ("grammar", c_char_p),
        ("json_schema", c_char_p),
        ("constrain_after_reasoning", c_int),
        ("trigger", c_char_p),
        ("context_shift", c_int),
        ("n_keep", c_int64),
        ("confidence", c_void_p),        # POINTER(ConfidenceOptions)
        ("on_token", token_fn),
        ("on_token_user_data", c_void_p),
        ("top_logprobs", c_int32),
    ]


class GenerateResult(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("stop_reason", c_int),
        ("n_prompt_tokens", c_int64),
        ("n_generated_tokens", c_int64),
        ("n_reasoning_tokens", c_int64),
        ("prompt_seconds", c_double),
        ("generate_seconds", c_double),
        ("n_cached_tokens", c_int64),
        ("n_forced_tokens", c_int64),
        ("n_draft_tokens", c_int64),
        ("n_draft_accepted", c_int64),
        ("mean_confidence", c_double),
        ("lowest_group_confidence", c_double),
        ("bottom10_group_confidence", c_double),
        ("tail_confidence", c_double),
        ("sum_logprob", c_double),
        ("n_scored_tokens", c_int64),
    ]


def _proto(name: str, restype, *argtypes) -> None:
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)


_status = c_int
_p = c_void_p
_pp = POINTER(c_void_p)

# version, errors, logging
_proto("dseek_version", c_char_p)
_proto("dseek_version_number", c_int)
_proto("dseek_status_string", c_char_p, c_int)
_proto("dseek_last_error", c_char_p)
_proto("dseek_clear_error", None)
_proto("dseek_set_log_callback", None, log_fn, c_void_p)
_proto("dseek_set_log_level", None, c_int)

# models
_proto("dseek_model_options_init", _status, POINTER(ModelOptions), c_size_t)
_proto("dseek_model_load", _status, c_char_p, POINTER(ModelOptions), _pp)
_proto("dseek_model_free", None, _p)
_proto("dseek_model_arch", c_char_p, _p)
for _name in ("n_vocab", "n_embd", "n_layer", "n_ctx_train", "n_params", "weight_bytes"):
    _proto("dseek_model_" + _name, c_int64, _p)

# text
_proto("dseek_model_has_vocab", c_int, _p)
_proto("dseek_token_bos", c_int32, _p)
_proto("dseek_token_eos", c_int32, _p)
_proto("dseek_token_is_eog", c_int, _p, c_int32)
_proto("dseek_tokenize", _status, _p, c_char_p, c_size_t, c_int, c_int, POINTER(c_int32), c_int64,
       POINTER(c_int64))
_proto("dseek_detokenize", _status, _p, POINTER(c_int32), c_int64, c_char_p, c_size_t, POINTER(c_size_t))
_proto("dseek_token_piece", _status, _p, c_int32, POINTER(c_void_p), POINTER(c_size_t))
_proto("dseek_chat_render", _status, _p, POINTER(c_char_p), POINTER(c_char_p), c_int64, c_int, c_char_p,
       c_size_t, POINTER(c_size_t))

# contexts
_proto("dseek_context_options_init", _status, POINTER(ContextOptions), c_size_t)
_proto("dseek_context_create", _status, _p, POINTER(ContextOptions), _pp)
_proto("dseek_context_free", None, _p)
_proto("dseek_context_reset", _status, _p)
_proto("dseek_context_n_ctx", c_int64, _p)
_proto("dseek_context_n_past", c_int64, _p)
_proto("dseek_context_tokens", _status, _p, POINTER(c_int32), c_int64, POINTER(c_int64))
_proto("dseek_context_kv_bytes_per_token", c_int64, _p)
_proto("dseek_context_shift", _status, _p, c_int64, c_int64)
_proto("dseek_context_save", _status, _p, c_char_p)
_proto("dseek_context_load", _status, _p, c_char_p)
_proto("dseek_decode", _status, _p, POINTER(c_int32), c_int64, c_int)
_proto("dseek_logits", POINTER(c_float), _p, c_int64)

# samplers
_proto("dseek_sampler_create", _status, c_uint64, _pp)
_proto("dseek_sampler_free", None, _p)
_proto("dseek_sampler_add_penalties", _status, _p, c_int32, c_float, c_float, c_float)
_proto("dseek_sampler_add_logit_bias", _status, _p, c_int32, c_float)
_proto("dseek_sampler_add_top_k", _status, _p, c_int32)
_proto("dseek_sampler_add_top_p", _status, _p, c_float)
_proto("dseek_sampler_add_min_p", _status, _p, c_float)
_proto("dseek_sampler_add_temperature", _status, _p, c_float)
_proto("dseek_sampler_add_greedy", _status, _p)
_proto("dseek_sampler_sample", _status, _p, POINTER(c_float), c_int64, POINTER(c_int32))
_proto("dseek_sampler_accept", _status, _p, c_int32)
_proto("dseek_sampler_reset", _status, _p, c_uint64)
_proto("dseek_sampler_clone", _status, _p, c_uint64, _pp)

# generation
_proto("dseek_generate_options_init", _status, POINTER(GenerateOptions), c_size_t)
_proto("dseek_generate", _status, _p, c_char_p, POINTER(GenerateOptions), POINTER(GenerateResult))
_proto("dseek_cancel", _status, _p)

# parallel samples; content/reasoning may hold NUL bytes, so they are read as
# pointer + length
_proto("dseek_generate_parallel", _status, _p, c_char_p, c_int64, POINTER(c_uint64), POINTER(GenerateOptions), _pp)
_proto("dseek_samples_free", None, _p)
_proto("dseek_samples_count", c_int64, _p)
_proto("dseek_samples_content", c_void_p, _p, c_int64, POINTER(c_size_t))
_proto("dseek_samples_reasoning", c_void_p, _p, c_int64, POINTER(c_size_t))
_proto("dseek_samples_result", _status, _p, c_int64, POINTER(GenerateResult))
_proto("dseek_samples_vote", _status, _p, c_void_p, c_void_p, POINTER(c_char_p), POINTER(c_int64))
_proto("dseek_samples_answer", c_char_p, _p, c_int64)
_proto("dseek_confidence_options_init", _status, POINTER(ConfidenceOptions), c_size_t)
_proto("dseek_samples_vote_confidence", _status, _p, c_void_p, c_void_p, POINTER(ConfidenceOptions),
       POINTER(c_char_p), POINTER(c_double), POINTER(c_double))
_proto("dseek_samples_tokens", _status, _p, c_int64, POINTER(POINTER(c_float)), POINTER(POINTER(c_float)),
       POINTER(c_int64))
_proto("dseek_samples_stop_threshold", c_double, _p)

del _name

