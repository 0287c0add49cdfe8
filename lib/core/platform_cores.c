/* platform_cores.c — physical cores, hyper-threads counted once (platform.h). */
#include "core/platform.h"

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

/* One RelationProcessorCore record per physical core. */
int ds_physical_cores(void)
{
  DWORD len = 0;
  GetLogicalProcessorInformationEx(RelationProcessorCore, NULL, &len);
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  int logical = si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
  if (len == 0) return logical;
  uint8_t *buf = ds_malloc(len);
  if (!buf) return logical;
  int cores = 0;
  if (GetLogicalProcessorInformationEx(RelationProcessorCore, (PSYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX)buf, &len)) {
    for (DWORD off = 0; off < len;) {
      PSYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX r = (PSYSTEM_LOGICAL_PROCESSOR_INFORMATION_EX)(buf + off);
      if (r->Size == 0) break;
      if (r->Relationship == RelationProcessorCore) cores++;
      off += r->Size;
    }
  }
  ds_free(buf);
  return cores > 0 ? cores : logical;
}

#elif defined(__APPLE__)
#include <sys/sysctl.h>

int ds_physical_cores(void)
{
  int n = 0;
  size_t len = sizeof n;
  if (sysctlbyname("hw.physicalcpu", &n, &len, NULL, 0) == 0 && n > 0) return n;
  len = sizeof n;
  if (sysctlbyname("hw.logicalcpu", &n, &len, NULL, 0) == 0 && n > 0) return n;
  return 1;
}

#else
#include <stdio.h>
#include <unistd.h>

static bool read_long(const char *path, long *out)
{
  FILE *f = fopen(path, "r");
  if (!f) return false;
  bool ok = fscanf(f, "%ld", out) == 1;
  fclose(f);
  return ok;
}

/* Linux: distinct (package, core) pairs of the sysfs topology; the logical
 * CPUs online where sysfs does not say. */
int ds_physical_cores(void)
{
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 1) online = 1;
  enum { MAX_CPUS = 1024 };
  long seen[MAX_CPUS][2];   /* 16 KiB of stack: no shared state between threads */
  int n_seen = 0;
  for (long cpu = 0; cpu < online && cpu < MAX_CPUS; cpu++) {
    char path[128];
    long pkg, core;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", cpu);
    if (!read_long(path, &pkg)) return (int)online;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/core_id", cpu);
    if (!read_long(path, &core)) return (int)online;
    bool dup = false;
    for (int i = 0; i < n_seen && !dup; i++) dup = seen[i][0] == pkg && seen[i][1] == core;
    if (!dup) { seen[n_seen][0] = pkg; seen[n_seen][1] = core; n_seen++; }
  }
  return n_seen > 0 ? n_seen : (int)online;
}
#endif
