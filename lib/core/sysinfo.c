/* sysinfo.c — physical cores from sysfs topology, available memory from /proc. */
#include "core/sysinfo.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool read_long(const char *path, long *out)
{
  FILE *f = fopen(path, "r");
  if (!f) return false;
  bool ok = fscanf(f, "%ld", out) == 1;
  fclose(f);
  return ok;
}

int ds_physical_cores(void)
{
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 1) online = 1;
  /* Count distinct (package, core) pairs; fall back to logical CPUs. */
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

uint64_t ds_available_memory(void)
{
  FILE *f = fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  unsigned long long kb = 0;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
  }
  fclose(f);
  return (uint64_t)kb * 1024;
}
