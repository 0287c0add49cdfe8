/* file.h — a whole file as read-only bytes: memory-mapped, or read as a fallback. */
#ifndef DS_CORE_FILE_H
#define DS_CORE_FILE_H

#include "core/ds.h"

typedef struct ds_file {
  const uint8_t *data;   /* size bytes (NULL when size == 0) */
  uint64_t size;
  bool mapped;           /* true: munmap on close; false: ds_free */
  bool resident;         /* every byte in memory now: read, or mapped with every page populated */
} ds_file;

/* Map (or, when allow_mmap is false or mapping fails, read) the file at path.
 * Errors: DSEEK_ERR_IO with the path and the system's reason, DSEEK_ERR_NO_MEMORY. */
dseek_status ds_file_open(const char *path, bool allow_mmap, ds_file *out);

/* The same for one file of a set mapped together (the shards of a split
 * model): `together` bytes in all, which decides whether the pages are mapped
 * at once (file.c); 0 means this file alone. */
dseek_status ds_file_open_in_set(const char *path, bool allow_mmap, uint64_t together, ds_file *out);
/* Let the caller rewrite bytes [p, p + n) of the file's memory in place (a
 * mapping is private: the pages become the process's own copies, the file
 * is never written). Errors: DSEEK_ERR_IO with the system's reason. */
dseek_status ds_file_make_writable(ds_file *f, const void *p, size_t n);

/* Release the bytes; safe on a zeroed ds_file. */
void ds_file_close(ds_file *f);

#endif
