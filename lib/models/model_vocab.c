/* model_vocab.c — attach a tokenizer and a chat template to a model. */
#include "models/model.h"
#include "core/platform.h"
#include "formats/gguf.h"
#include "text/vocab.h"

#include <stdio.h>
#include <string.h>

/* Recognise the vocabulary's chat template; an unknown or missing template is
 * not an error (hosts may pass raw prompts), only dseek_chat_render fails. */
static void attach_chat_template(struct dseek_model *m)
{
  const char *src = ds_vocab_chat_template(m->vocab);
  m->has_chat = src && ds_chat_detect(src, strlen(src), &m->chat) == DSEEK_OK;
  if (!m->has_chat) dseek_clear_error();
}

/* A tokenizer of a kind dseek does not implement (DSEEK_ERR_UNSUPPORTED)
 * leaves the weights usable: a host that feeds token ids still runs the
 * model, dseek_model_has_vocab is 0, and the text functions fail with this
 * reason. A malformed tokenizer stays an error: the file is broken. */
static dseek_status keep_unsupported(struct dseek_model *m, dseek_status st)
{
  if (st != DSEEK_ERR_UNSUPPORTED) return st;
  if (!(m->vocab_error = ds_strndup(dseek_last_error(), strlen(dseek_last_error()))))
    return ds_error(DSEEK_ERR_NO_MEMORY, "%s: out of memory", m->path);
  dseek_clear_error();
  return DSEEK_OK;
}

dseek_status ds_model_attach_vocab_gguf(struct dseek_model *m);

dseek_status ds_model_attach_vocab_gguf(struct dseek_model *m)
{
  /* A GGUF without tokenizer.ggml.* is a weights-only file; one whose
   * tokenizer dseek does not support still runs on token ids (no vocab). */
  if (ds_gguf_find_key(m->gguf, "tokenizer.ggml.model") < 0) return DSEEK_OK;
  dseek_status st = ds_vocab_load_gguf(m->gguf, m->path, &m->vocab);
  if (st) return keep_unsupported(m, st);
  attach_chat_template(m);
  return DSEEK_OK;
}

dseek_status ds_model_load_hf_vocab(struct dseek_model *m, bool required);

dseek_status ds_model_load_hf_vocab(struct dseek_model *m, bool required)
{
  char path[1100];
  snprintf(path, sizeof path, "%s/tokenizer.json", m->path);
  if (ds_path_kind_of(path) == DS_PATH_NONE) {
    if (required) return ds_error(DSEEK_ERR_IO, "%s: no tokenizer.json in the directory", m->path);
    return DSEEK_OK;   /* ids in, logits out */
  }
  dseek_status st = ds_vocab_load_hf(m->path, &m->vocab);
  if (st) return required ? st : keep_unsupported(m, st);
  attach_chat_template(m);
  return DSEEK_OK;
}
