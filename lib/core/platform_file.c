/* platform_file.c — file views (mapped, or read whole as a fallback), UTF-8
 * paths, what is at a path, directory listing (platform.h). */
#include "core/platform.h"

#include <errno.h>
#include <string.h>

/* Map every page now when the file fits in the memory available: a mixture
 * of experts otherwise takes a page fault per 4 KiB the first time each
 * expert is used, spread over the first few hundred tokens (DeepSeek-V2-Lite:
 * 2.2 M faults, seconds of decode time). A file larger than that is left to
 * fault in lazily rather than read whole. The shards of a split model are
 * judged by their sum (`together`): populating each one that fits could fill
 * the memory with the first shards. */
static bool populate_now(uint64_t size, uint64_t together)
{
  uint64_t avail = ds_available_memory(), need = together > size ? together : size;
  return avail && need <= avail;
}

dseek_status ds_file_open(const char *path, bool allow_mmap, ds_file *out)
{
  return ds_file_open_in_set(path, allow_mmap, 0, out);
}

/* Read size bytes with read_some(src, buf, want) -> bytes read, 0 at the end,
 * < 0 on error (*why set). */
typedef long long (*read_fn)(void *src, void *buf, size_t want, const char **why);

static dseek_status read_all(read_fn read_some, void *src, const char *path, uint64_t size, ds_file *out)
{
  if (size > SIZE_MAX) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: file too large to read", path);
  uint8_t *buf = ds_malloc((size_t)size);
  if (!buf) return ds_error(DSEEK_ERR_NO_MEMORY, "%s: cannot allocate %llu bytes", path,
                            (unsigned long long)size);
  uint64_t done = 0;
  while (done < size) {
    size_t want = (size_t)DS_MIN(size - done, (uint64_t)1 << 30);
    const char *why = "unexpected end of file";
    long long got = read_some(src, buf + done, want, &why);
    if (got <= 0) {
      ds_free(buf);
      return ds_error(DSEEK_ERR_IO, "%s: read failed at byte %llu: %s", path,
                      (unsigned long long)done, why);
    }
    done += (uint64_t)got;
  }
  out->data = buf;
  out->size = size;
  out->mapped = false;
  out->resident = true;
  return DSEEK_OK;
}

/* The view of a file of size bytes: the mapping `mapped` when there is one,
 * else the bytes read whole (nothing for an empty file). */
static dseek_status take_view(const uint8_t *mapped, bool populated, read_fn read_some, void *src, const char *path,
                              uint64_t size, ds_file *out)
{
  if (!mapped) return size > 0 ? read_all(read_some, src, path, size, out) : DSEEK_OK;
  out->data = mapped;
  out->size = size;
  out->mapped = true;
  out->resident = populated;
  return DSEEK_OK;
}

#if defined(_WIN32)
/* ======================= Windows: UTF-16 file API ========================== */
#define WIN32_LEAN_AND_MEAN
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0602   /* Windows 8: PrefetchVirtualMemory */
#endif
#include <windows.h>

/* path (UTF-8) as a NUL-terminated UTF-16 string, ds_malloc'd; NULL when it
 * is not valid UTF-8 or memory runs out. */
static wchar_t *widen(const char *s)
{
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
  if (n <= 0) return NULL;
  wchar_t *w = ds_malloc((size_t)n * sizeof *w);
  if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) {
    ds_free(w);
    return NULL;
  }
  return w;
}

/* The system's message for error code e, in buf. */
static const char *win_message(DWORD e, char *buf, size_t cap)
{
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, e, 0,
                           buf, (DWORD)cap, NULL);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '.')) n--;
  if (n == 0) snprintf(buf, cap, "error %lu", (unsigned long)e);
  else buf[n] = '\0';
  return buf;
}

static long long read_handle(void *src, void *buf, size_t want, const char **why)
{
  DWORD got = 0;
  if (!ReadFile((HANDLE)src, buf, (DWORD)DS_MIN(want, (size_t)1 << 30), &got, NULL)) {
    static _Thread_local char msg[256];
    *why = win_message(GetLastError(), msg, sizeof msg);
    return -1;
  }
  return (long long)got;
}

/* A copy-on-write view of the whole file, kept read-only until
 * ds_file_make_writable asks for a range (as the POSIX MAP_PRIVATE mapping):
 * the pages written become the process's own and the file is never changed.
 * NULL when the OS refuses. *populated: the file fits in the memory available
 * and the whole view was handed to PrefetchVirtualMemory. */
static const uint8_t *map_view(HANDLE h, uint64_t size, uint64_t together, bool *populated)
{
  *populated = false;
  HANDLE mapping = CreateFileMappingW(h, NULL, PAGE_WRITECOPY, 0, 0, NULL);
  if (!mapping) return NULL;
  void *p = MapViewOfFile(mapping, FILE_MAP_COPY, 0, 0, (SIZE_T)size);
  CloseHandle(mapping);   /* the view keeps the section alive */
  DWORD old;
  if (p && !VirtualProtect(p, (SIZE_T)size, PAGE_READONLY, &old)) {
    UnmapViewOfFile(p);
    return NULL;
  }
  if (p && populate_now(size, together)) {
    WIN32_MEMORY_RANGE_ENTRY range = {p, (SIZE_T)size};
    *populated = PrefetchVirtualMemory(GetCurrentProcess(), 1, &range, 0) != 0;
  }
  return p;
}

dseek_status ds_file_open_in_set(const char *path, bool allow_mmap, uint64_t together, ds_file *out)
{
  memset(out, 0, sizeof *out);
  char msg[256];
  wchar_t *wpath = widen(path);
  if (!wpath) return ds_error(DSEEK_ERR_IO, "%s: cannot open: not a valid UTF-8 path", path);
  HANDLE h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING,
                         FILE_ATTRIBUTE_NORMAL, NULL);
  DWORD e = GetLastError();
  ds_free(wpath);
  if (h == INVALID_HANDLE_VALUE)
    return ds_error(DSEEK_ERR_IO, "%s: cannot open: %s", path, win_message(e, msg, sizeof msg));
  LARGE_INTEGER li;
  if (GetFileType(h) != FILE_TYPE_DISK) {
    CloseHandle(h);
    return ds_error(DSEEK_ERR_IO, "%s: not a regular file", path);
  }
  if (!GetFileSizeEx(h, &li)) {
    e = GetLastError();
    CloseHandle(h);
    return ds_error(DSEEK_ERR_IO, "%s: cannot stat: %s", path, win_message(e, msg, sizeof msg));
  }
  uint64_t size = (uint64_t)li.QuadPart;
  bool populated = false;
  const uint8_t *p = size > 0 && allow_mmap && size <= SIZE_MAX ? map_view(h, size, together, &populated) : NULL;
  dseek_status status = take_view(p, populated, read_handle, h, path, size, out);
  CloseHandle(h);
  return status;
}

void ds_file_close(ds_file *f)
{
  if (!f || !f->data) return;
  if (f->mapped) UnmapViewOfFile(f->data);
  else ds_free((void *)f->data);
  memset(f, 0, sizeof *f);
}

dseek_status ds_file_make_writable(ds_file *f, const void *p, size_t n)
{
  if (!f->mapped || n == 0) return DSEEK_OK;   /* read into our own memory: writable already */
  DWORD old;
  if (!VirtualProtect((void *)p, (SIZE_T)n, PAGE_WRITECOPY, &old)) {   /* whole pages, as mprotect */
    char msg[256];
    return ds_error(DSEEK_ERR_IO, "cannot make a mapped range writable: %s", win_message(GetLastError(), msg, sizeof msg));
  }
  return DSEEK_OK;
}

FILE *ds_fopen(const char *path, const char *mode)
{
  wchar_t *wpath = widen(path), *wmode = widen(mode);
  FILE *f = wpath && wmode ? _wfopen(wpath, wmode) : NULL;
  ds_free(wpath);
  ds_free(wmode);
  return f;
}

ds_path_kind ds_path_kind_of(const char *path)
{
  wchar_t *wpath = widen(path);
  if (!wpath) return DS_PATH_NONE;
  DWORD a = GetFileAttributesW(wpath);
  ds_free(wpath);
  if (a == INVALID_FILE_ATTRIBUTES) return DS_PATH_NONE;
  if (a & FILE_ATTRIBUTE_DIRECTORY) return DS_PATH_DIR;
  if (a & FILE_ATTRIBUTE_DEVICE) return DS_PATH_OTHER;
  return DS_PATH_FILE;
}

bool ds_path_size(const char *path, uint64_t *size, const char **why)
{
  static _Thread_local char msg[256];
  wchar_t *wpath = widen(path);
  if (!wpath) {
    *why = "not a valid UTF-8 path";
    return false;
  }
  WIN32_FILE_ATTRIBUTE_DATA a;
  BOOL ok = GetFileAttributesExW(wpath, GetFileExInfoStandard, &a);
  DWORD e = GetLastError();
  ds_free(wpath);
  if (!ok) {
    *why = win_message(e, msg, sizeof msg);
    return false;
  }
  *size = (uint64_t)a.nFileSizeHigh << 32 | a.nFileSizeLow;
  return true;
}

bool ds_dir_each(const char *dir, void (*fn)(const char *name, void *user), void *user)
{
  size_t n = strlen(dir);
  char *pattern = ds_malloc(n + 3);
  if (!pattern) return false;
  memcpy(pattern, dir, n);
  memcpy(pattern + n, "\\*", 3);
  wchar_t *wpattern = widen(pattern);
  ds_free(pattern);
  if (!wpattern) return false;
  WIN32_FIND_DATAW fd;
  HANDLE h = FindFirstFileW(wpattern, &fd);
  ds_free(wpattern);
  if (h == INVALID_HANDLE_VALUE) return false;
  do {
    char name[MAX_PATH * 4];   /* UTF-8 needs at most 3 bytes per UTF-16 unit */
    if (WideCharToMultiByte(CP_UTF8, 0, fd.cFileName, -1, name, (int)sizeof name, NULL, NULL) <= 0) continue;
    if (strcmp(name, ".") && strcmp(name, "..")) fn(name, user);
  } while (FindNextFileW(h, &fd));
  FindClose(h);
  return true;
}

#else
/* ============================ POSIX (Linux, macOS) ========================= */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static long long read_fd(void *src, void *buf, size_t want, const char **why)
{
  int fd = *(const int *)src;
  for (;;) {
    ssize_t got = read(fd, buf, want);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) *why = strerror(errno);
    return (long long)got;
  }
}

/* A read-only private mapping of the whole file; NULL when the OS refuses.
 * *populated: every page was brought in (MAP_POPULATE; read-ahead advice is
 * only a hint). */
static const uint8_t *map_view(int fd, uint64_t size, uint64_t together, bool *populated)
{
  int flags = MAP_PRIVATE;
  *populated = false;
#ifdef MAP_POPULATE
  if (populate_now(size, together)) flags |= MAP_POPULATE;
  *populated = (flags & MAP_POPULATE) != 0;
#endif
  void *p = mmap(NULL, (size_t)size, PROT_READ, flags, fd, 0);
  if (p == MAP_FAILED) return NULL;
#if !defined(MAP_POPULATE) && defined(MADV_WILLNEED)
  /* macOS and the BSDs: no populate flag; ask for read-ahead instead. */
  if (populate_now(size, together)) madvise(p, (size_t)size, MADV_WILLNEED);
#endif
  return p;
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
  bool populated = false;
  const uint8_t *p = size > 0 && allow_mmap && size <= SIZE_MAX ? map_view(fd, size, together, &populated) : NULL;
  dseek_status status = take_view(p, populated, read_fd, &fd, path, size, out);
  close(fd);
  return status;
}

void ds_file_close(ds_file *f)
{
  if (!f || !f->data) return;
  if (f->mapped) munmap((void *)f->data, (size_t)f->size);
  else ds_free((void *)f->data);
  memset(f, 0, sizeof *f);
}

dseek_status ds_file_make_writable(ds_file *f, const void *p, size_t n)
{
  if (!f->mapped || n == 0) return DSEEK_OK;   /* read into our own memory: writable already */
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  const uintptr_t a = (uintptr_t)p & ~(page - 1), e = ((uintptr_t)p + n + page - 1) & ~(page - 1);
  if (mprotect((void *)a, e - a, PROT_READ | PROT_WRITE) != 0)
    return ds_error(DSEEK_ERR_IO, "cannot make a mapped range writable: %s", strerror(errno));
  return DSEEK_OK;
}

FILE *ds_fopen(const char *path, const char *mode) { return fopen(path, mode); }

ds_path_kind ds_path_kind_of(const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) return DS_PATH_NONE;
  if (S_ISREG(st.st_mode)) return DS_PATH_FILE;
  if (S_ISDIR(st.st_mode)) return DS_PATH_DIR;
  return DS_PATH_OTHER;
}

bool ds_path_size(const char *path, uint64_t *size, const char **why)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    *why = strerror(errno);
    return false;
  }
  *size = (uint64_t)st.st_size;
  return true;
}

bool ds_dir_each(const char *dir, void (*fn)(const char *name, void *user), void *user)
{
  DIR *d = opendir(dir);
  if (!d) return false;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) fn(e->d_name, user);
  closedir(d);
  return true;
}
#endif
