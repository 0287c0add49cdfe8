/* platform_thread.c — threads, a mutex with its condition variable, yielding
 * (platform.h). Windows: Win32 threads, SRW lock + CONDITION_VARIABLE (no
 * extra runtime DLL); elsewhere pthreads. */
#include "core/platform.h"

#include <errno.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <process.h>

struct ds_thread {
  HANDLE handle;
  void (*fn)(void *);
  void *arg;
};

struct ds_monitor {
  SRWLOCK lock;
  CONDITION_VARIABLE cv;
};

/* _beginthreadex rather than CreateThread: the C runtime's per-thread state
 * (errno, strtod's locale) is set up for the new thread. */
static unsigned __stdcall thread_main(void *p)
{
  ds_thread *t = p;
  t->fn(t->arg);
  return 0;
}

ds_thread *ds_thread_start(void (*fn)(void *arg), void *arg, int *err)
{
  ds_thread *t = ds_malloc(sizeof *t);
  if (!t) { *err = ENOMEM; return NULL; }
  t->fn = fn;
  t->arg = arg;
  uintptr_t h = _beginthreadex(NULL, 0, thread_main, t, 0, NULL);
  if (!h) {
    *err = errno;
    ds_free(t);
    return NULL;
  }
  t->handle = (HANDLE)h;
  return t;
}

void ds_thread_join(ds_thread *t)
{
  if (!t) return;
  WaitForSingleObject(t->handle, INFINITE);
  CloseHandle(t->handle);
  ds_free(t);
}

void ds_thread_yield(void) { SwitchToThread(); }

ds_monitor *ds_monitor_create(void)
{
  ds_monitor *m = ds_malloc(sizeof *m);
  if (!m) return NULL;
  InitializeSRWLock(&m->lock);
  InitializeConditionVariable(&m->cv);
  return m;
}

void ds_monitor_free(ds_monitor *m) { ds_free(m); }   /* SRW locks need no teardown */
void ds_monitor_lock(ds_monitor *m) { AcquireSRWLockExclusive(&m->lock); }
void ds_monitor_unlock(ds_monitor *m) { ReleaseSRWLockExclusive(&m->lock); }
void ds_monitor_wait(ds_monitor *m) { SleepConditionVariableSRW(&m->cv, &m->lock, INFINITE, 0); }
void ds_monitor_wake_all(ds_monitor *m) { WakeAllConditionVariable(&m->cv); }

#else
#include <pthread.h>
#include <sched.h>

struct ds_thread {
  pthread_t id;
  void (*fn)(void *);
  void *arg;
};

struct ds_monitor {
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static void *thread_main(void *p)
{
  ds_thread *t = p;
  t->fn(t->arg);
  return NULL;
}

ds_thread *ds_thread_start(void (*fn)(void *arg), void *arg, int *err)
{
  ds_thread *t = ds_malloc(sizeof *t);
  if (!t) { *err = ENOMEM; return NULL; }
  t->fn = fn;
  t->arg = arg;
  int rc = pthread_create(&t->id, NULL, thread_main, t);
  if (rc != 0) {
    *err = rc;
    ds_free(t);
    return NULL;
  }
  return t;
}

void ds_thread_join(ds_thread *t)
{
  if (!t) return;
  pthread_join(t->id, NULL);
  ds_free(t);
}

void ds_thread_yield(void) { sched_yield(); }

ds_monitor *ds_monitor_create(void)
{
  ds_monitor *m = ds_malloc(sizeof *m);
  if (!m) return NULL;
  if (pthread_mutex_init(&m->mu, NULL) != 0) { ds_free(m); return NULL; }
  if (pthread_cond_init(&m->cv, NULL) != 0) {
    pthread_mutex_destroy(&m->mu);
    ds_free(m);
    return NULL;
  }
  return m;
}

void ds_monitor_free(ds_monitor *m)
{
  if (!m) return;
  pthread_cond_destroy(&m->cv);
  pthread_mutex_destroy(&m->mu);
  ds_free(m);
}

void ds_monitor_lock(ds_monitor *m) { pthread_mutex_lock(&m->mu); }
void ds_monitor_unlock(ds_monitor *m) { pthread_mutex_unlock(&m->mu); }
void ds_monitor_wait(ds_monitor *m) { pthread_cond_wait(&m->cv, &m->mu); }
void ds_monitor_wake_all(ds_monitor *m) { pthread_cond_broadcast(&m->cv); }
#endif
