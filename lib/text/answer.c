/* answer.c — the default final-answer extractor for self-consistency voting. */
#include "text/answer.h"

#include <string.h>

/* Default extractor: the last \boxed{...} of the content (braces balanced),
 * else its last non-empty line, trimmed. */
int64_t ds_extract_answer(const char *content, const char *reasoning, char *answer, size_t cap, void *user)
{
  (void)reasoning;
  (void)user;
  const char *start = NULL, *end = NULL;
  for (const char *p = strstr(content, "\\boxed{"); p; p = strstr(p + 1, "\\boxed{")) {
    const char *q = p + 7;
    int depth = 1;
    while (*q && depth) { depth += *q == '{' ? 1 : *q == '}' ? -1 : 0; q++; }
    if (!depth) { start = p + 7; end = q - 1; }
  }
  if (!start) {
    const char *e = content + strlen(content);
    while (e > content) {
      while (e > content && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
      const char *b = e;
      while (b > content && b[-1] != '\n') b--;
      if (e > b) { start = b; end = e; break; }
      e = b;
    }
    while (start && start < end && (*start == ' ' || *start == '\t')) start++;
  }
  if (!start || end <= start) return -1;
  size_t n = (size_t)(end - start);
  if (n >= cap) n = cap - 1;
  memcpy(answer, start, n);
  answer[n] = '\0';
  return (int64_t)n;
}

