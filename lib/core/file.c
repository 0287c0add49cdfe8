/* file.c — map or read a whole file. */
#include "core/file.h"
#include "core/sysinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static dseek_status read_all(int fd, const char *path, uint64_t size, ds_file *out)
{
  if (size > SIZE_MAX) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: file too large to read", path);
  uint8_t *buf = ds_malloc((size_t)size);
  if (!buf) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: cannot allocate %llu bytes", path,
                            (unsigned long long)size);
  uint64_t done = 0;
  while (done < size) {
    size_t want = (size_t)DS_MIN(size - done, (uint64_t)1 << 30);
    ssize_t got = read(fd, buf + done, want);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      int e = errno;
      ds_free(buf);
      return ds_error(DSEEK_ERR_IO, "%s: read failed at byte %llu: %s", path,
                      (unsigned long long)done, got == 0 ? "unexpected end of file" : strerror(e));
    }
    done += (uint64_t)got;
  }
  out->data = buf;
  out->size = size;
  out->resident = true;
  out->mapped = false;
  return DSEEK_OK;
}

dseek_status ds_file_open(const char *path, bool allow_mmap, ds_file *out)
{
  return ds_file_open_in_set(path, allow_mmap, 0, out);
}

dseek_status ds_file_open_in_set(const char *path, bool allow_mmap, uint64_t together, ds_file *out)
{
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ds_error(DSEEK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ds_error(DSEEK_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return ds_error(DSEEK_ERR_IO, "%s: not a regular file", path);
  }
  uint64_t size = (uint64_t)st.st_size;
  dseek_status status = DSEEK_OK;
  if (size == 0) {
    out->size = 0;
  } else if (allow_mmap && size <= SIZE_MAX) {
    int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    /* Map every page now when the file fits in the memory available: a
     * mixture of experts otherwise takes a page fault per 4 KiB the first
     * time each expert is used, spread over the first few hundred tokens
     * (DeepSeek-V2-Lite: 2.2 M faults, seconds of decode time). A file
     * larger than that is left to fault in lazily rather than read whole.
     * The shards of a split model are judged by their sum: populating each
     * one that fits could fill the memory with the first shards. */
    uint64_t avail = ds_available_memory(), need = together > size ? together : size;
    if (avail && need <= avail) flags |= MAP_POPULATE;
#endif
    void *p = mmap(NULL, (size_t)size, PROT_READ, flags, fd, 0);
    if (p != MAP_FAILED) {
      out->data = p;
      out->size = size;
      out->mapped = true;
#ifdef MAP_POPULATE
      out->resident = (flags & MAP_POPULATE) != 0;
#endif
    } else {
      status = read_all(fd, path, size, out);
    }
  } else {
    status = read_all(fd, path, size, out);
  }
  close(fd);
  return status;
}

dseek_status ds_file_make_writable(ds_file *f, const void *p, size_t n)
{
  if (!f->mapped || n == 0) return DSEEK_OK;   /* read into our own memory: writable already */
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t a = (uintptr_t)p & ~(uintptr_t)(page - 1), e = ((uintptr_t)p + n + page - 1) & ~(uintptr_t)(page - 1);
  if (mprotect((void *)a, e - a, PROT_READ | PROT_WRITE) != 0)
    return ds_error(DSEEK_ERR_IO, "cannot make a mapped range writable: %s", strerror(errno));
  return DSEEK_OK;
}

void ds_file_close(ds_file *f)
{
  if (!f || !f->data) return;
  if (f->mapped) munmap((void *)f->data, (size_t)f->size);
  else ds_free((void *)f->data);
  memset(f, 0, sizeof *f);
}
