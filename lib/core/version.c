/* version.c — run-time version, so hosts can check header and library agree. */
#include "core/ds.h"

const char *dseek_version(void) { return DSEEK_VERSION_STRING; }

int dseek_version_number(void) { return DSEEK_VERSION_NUMBER; }
