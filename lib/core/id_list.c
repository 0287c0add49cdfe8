/* id_list.c — see id_list.h. */
#include "core/id_list.h"

#include "core/ds.h"

dseek_status ds_id_list_push(ds_id_list *l, int32_t id)
{
  if (l->n == l->cap) {
    int64_t cap = l->cap ? l->cap * 2 : 64;
    int32_t *ids = ds_realloc(l->ids, (size_t)cap * sizeof *ids);
    if (!ids) return ds_error(DSEEK_ERR_NO_MEMORY, "out of memory growing a token id list to %lld", (long long)cap);
    l->ids = ids;
    l->cap = cap;
  }
  l->ids[l->n++] = id;
  return DSEEK_OK;
}
