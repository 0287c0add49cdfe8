/* platform_memory.c — the memory the system reports as available (platform.h). */
#include "core/platform.h"

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

uint64_t ds_available_memory(void)
{
  MEMORYSTATUSEX ms;
  ms.dwLength = sizeof ms;
  return GlobalMemoryStatusEx(&ms) ? (uint64_t)ms.ullAvailPhys : 0;
}

#elif defined(__APPLE__)
#include <mach/mach.h>
#include <sys/sysctl.h>

/* No MemAvailable: pages that are free, inactive (clean cache the kernel
 * drops first) or purgeable, times the page size (vm_statistics64). */
uint64_t ds_available_memory(void)
{
  vm_statistics64_data_t vm;
  mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
  if (host_statistics64(mach_host_self(), HOST_VM_INFO64, (host_info64_t)&vm, &count) != KERN_SUCCESS)
    return 0;
  uint64_t page = 0;
  size_t len = sizeof page;
  if (sysctlbyname("hw.pagesize", &page, &len, NULL, 0) != 0 || page == 0) return 0;
  return ((uint64_t)vm.free_count + vm.inactive_count + vm.purgeable_count) * page;
}

#else
#include <stdio.h>

/* Linux: MemAvailable from /proc/meminfo (0 where there is no /proc). */
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
#endif
