/*
 * chat_markers.h — the special-token texts of DeepSeek's chat templates and
 * the one tool-call form they all write (private to lib/text: chat.c and
 * chat_r1_0528.c).
 */
#ifndef DS_TEXT_CHAT_MARKERS_H
#define DS_TEXT_CHAT_MARKERS_H

#include "text/chat.h"

#define USER "<\xEF\xBD\x9CUser\xEF\xBD\x9C>"
#define ASSISTANT "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>"
#define EOS "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
#define OUTPUTS_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81outputs\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define OUTPUTS_END "<\xEF\xBD\x9Ctool\xE2\x96\x81outputs\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define OUTPUT_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81output\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define OUTPUT_END "<\xEF\xBD\x9Ctool\xE2\x96\x81output\xE2\x96\x81" "end\xEF\xBD\x9C>"

#define CALLS_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define CALLS_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "calls\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define CALL_BEGIN "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "begin\xEF\xBD\x9C>"
#define CALL_END "<\xEF\xBD\x9Ctool\xE2\x96\x81" "call\xE2\x96\x81" "end\xEF\xBD\x9C>"
#define TOOL_SEP "<\xEF\xBD\x9Ctool\xE2\x96\x81sep\xEF\xBD\x9C>"
#define ARGS_OPEN "\n```json\n"
#define ARGS_CLOSE "\n```"

/* One call as every template writes it:
 *   CALL_BEGIN type TOOL_SEP name "\n```json\n" arguments "\n```" CALL_END */
void ds_chat_put_call(ds_buf *out, const ds_chat_call *c);

/* The part of an assistant message after its last "</think>", as the R1
 * templates keep it (content.split('</think>')[-1]). */
const char *ds_chat_after_last_think(const char *content);

/* R1-0528's rendering of the messages after the BOS text (chat_r1_0528.c);
 * the messages are checked already. drop_reasoning: R1-0528 (assistant
 * messages keep what follows their last "</think>"); false: V3-0324. */
void ds_chat_render_r1_0528(const ds_chat_msg *msgs, int64_t n, bool add_generation_prompt, bool drop_reasoning,
                            ds_buf *out);

#endif
