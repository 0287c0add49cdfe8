/*
 * default_path.h — where the programs find tiny-r1 (README.md here), the model
 * they use without -m: the source tree's copy (builds that are not
 * installed), else the installed one; both paths come from the build
 * (tiny_r1_args in meson.build). NULL when neither is readable.
 */
#ifndef DSEEK_TINY_R1_DEFAULT_PATH_H
#define DSEEK_TINY_R1_DEFAULT_PATH_H

#include <stddef.h>
#include <unistd.h>

static inline const char *tiny_r1_default_path(void)
{
  static const char *const paths[] = {
#ifdef DSEEK_TINY_R1_SOURCE_DIR
    DSEEK_TINY_R1_SOURCE_DIR "/tiny-r1.gguf",
#endif
#ifdef DSEEK_TINY_R1_INSTALL_DIR
    DSEEK_TINY_R1_INSTALL_DIR "/tiny-r1.gguf",
#endif
    NULL};
  for (int i = 0; paths[i]; i++)
    if (access(paths[i], R_OK) == 0) return paths[i];
  return NULL;
}

#endif
