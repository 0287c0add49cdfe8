/* platform_locale.c — strtod in the "C" locale whatever the host application
 * set with setlocale (a game may run in a locale whose decimal point is ','),
 * for JSON numbers (platform.h). */
#include "core/platform.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>

#if defined(_WIN32)
#include <stdatomic.h>

/* The CRT's _strtod_l with a "C" locale made once (racing first calls: the
 * loser frees its copy). */
static _Atomic(_locale_t) c_locale;

double ds_strtod_c(const char *s, bool *range_error)
{
  _locale_t loc = atomic_load(&c_locale);
  if (!loc) {
    _locale_t mine = _create_locale(LC_ALL, "C");
    _locale_t expected = NULL;
    if (mine && !atomic_compare_exchange_strong(&c_locale, &expected, mine)) _free_locale(mine);
    loc = atomic_load(&c_locale);
  }
  errno = 0;
  double d = loc ? _strtod_l(s, NULL, loc) : strtod(s, NULL);
  *range_error = errno == ERANGE && isinf(d);
  return d;
}

#else
#include <pthread.h>

/* POSIX 2008 per-thread locales: switch this thread to "C" around strtod. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

double ds_strtod_c(const char *s, bool *range_error)
{
  pthread_once(&c_locale_once, make_c_locale);
  locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
  errno = 0;
  double d = strtod(s, NULL);
  *range_error = errno == ERANGE && isinf(d);
  if (c_locale) uselocale(old);
  return d;
}
#endif
