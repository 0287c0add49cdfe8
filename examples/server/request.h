/*
 * request.h — an OpenAI request body (chat or text completion) parsed and
 * checked into plain fields. No model and no HTTP here: the fuzz target
 * (tests/fuzz/fuzz_server_request.c) drives exactly this code.
 */
#ifndef DSEEK_SERVER_REQUEST_H
#define DSEEK_SERVER_REQUEST_H

#include <dseek.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define REQUEST_MAX_STOP 16
#define REQUEST_MAX_N 16

typedef enum request_kind { REQUEST_CHAT = 1, REQUEST_COMPLETION = 2 } request_kind;

typedef enum request_format {
  FORMAT_TEXT = 0,
  FORMAT_JSON_OBJECT = 1,   /* any JSON object (a fixed grammar) */
  FORMAT_JSON_SCHEMA = 2    /* schema_text holds the schema */
} request_format;

/* Limits the server imposes (main.c fills them from the command line). */
typedef struct request_limits {
  int64_t max_tokens;       /* a larger max_tokens is refused */
} request_limits;

typedef enum tool_choice_kind {
  TOOL_CHOICE_NONE = 0,     /* no tools, or "none": no call, the tools are not described */
  TOOL_CHOICE_AUTO = 1,     /* the model may call (the answer is parsed for a block) */
  TOOL_CHOICE_REQUIRED = 2, /* one call is forced by a grammar */
  TOOL_CHOICE_NAMED = 3     /* a call of tool_name is forced */
} tool_choice_kind;

typedef struct request {
  request_kind kind;
  json_t *root;                   /* the parsed body; the strings below point into it */
  /* chat */
  int64_t n_messages;
  const char **roles, **contents; /* contents: texts joined from parts (owned, freed with the request) */
  char **owned;                   /* the joined contents to free */
  dseek_chat_message *msgs;       /* the messages with their tool calls (tools.c) */
  const dseek_chat_message **msg_ptrs;
  dseek_tool_call **calls;        /* per message: its calls (owned) */
  const dseek_tool_call ***call_ptrs;
  json_t *tools;                  /* the `tools` array (borrowed from root; NULL: none) */
  int tool_choice;                /* a tool_choice_kind */
  const char *tool_name;          /* TOOL_CHOICE_NAMED */
  /* completion */
  const char *prompt;
  /* both */
  int64_t max_tokens;             /* -1: the rest of the context */
  int has_temperature, has_top_p, has_seed;
  double temperature, top_p;
  double frequency_penalty, presence_penalty;
  uint64_t seed;
  const char *stop[REQUEST_MAX_STOP];
  int64_t n_stop;
  int64_t n;
  int stream, include_usage;
  request_format format;
  char *schema_text;              /* FORMAT_JSON_SCHEMA: the schema as JSON text (owned) */
  int logprobs;                   /* chat: logprobs true; completion: logprobs set */
  int64_t top_logprobs;           /* 0..20 alternatives per token */
  int64_t thinking_budget;        /* -1: unlimited (reasoning_effort / thinking_token_budget) */
} request;

/* An error found while parsing: HTTP status, OpenAI error type, the field it
 * is about (NULL when none), the code and a message naming the field. */
typedef struct request_error {
  int status;
  const char *type, *param, *code;
  char message[256];
} request_error;

/* Parse `len` bytes of a request body. 0 on success (free *req with
 * request_free), -1 with *err filled otherwise. */
int request_parse(const char *body, size_t len, request_kind kind, const request_limits *limits,
                  request *req, request_error *err);

void request_free(request *req);

/* Thinking budgets of reasoning_effort (README, "dseek serve"). */
int64_t request_effort_budget(const char *effort);

#endif
