/* sysinfo.h — facts about the machine: physical cores, available memory. */
#ifndef DS_CORE_SYSINFO_H
#define DS_CORE_SYSINFO_H

#include "core/ds.h"

/* Physical cores (hyper-threads counted once); at least 1. */
int ds_physical_cores(void);

/* Bytes of memory the system reports as available (MemAvailable), or 0 when
 * unknown. */
uint64_t ds_available_memory(void);

#endif
