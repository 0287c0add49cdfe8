/* id_list.h — a growable array of int32 token ids (tokenizer output, banned
 * tokens of a grammar constraint). Zero-initialize, push, ds_free(ids). */
#ifndef DS_CORE_ID_LIST_H
#define DS_CORE_ID_LIST_H

#include "dseek.h"

#include <stdint.h>

typedef struct ds_id_list {
  int32_t *ids;
  int64_t n, cap;
} ds_id_list;

/* Appends id (capacity doubles; NO_MEMORY leaves the list as it was). */
dseek_status ds_id_list_push(ds_id_list *l, int32_t id);

#endif
