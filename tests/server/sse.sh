#!/usr/bin/env bash
# sse.sh — the raw Server-Sent Events framing of a stream, with curl:
# text/event-stream, every event one "data: JSON" line and a blank line, the
# role first, finish_reason and usage at the end, then "data: [DONE]".
set -euo pipefail
dseek=$1
dir=$(mktemp -d)
log=$dir/log
"$dseek" serve --port 0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 200); do grep -q 'listening on' "$log" && break; sleep 0.05; done
base=$(grep -o 'http://[0-9.]*:[0-9]*' "$log")
fail() { echo "sse.sh: $*"; sed -n 1,40p "$dir/body"; exit 1; }

curl -sS -N -D "$dir/headers" -o "$dir/body" "$base/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"messages":[{"role":"user","content":"What is 3+4?"}],"seed":1,"stream":true,"stream_options":{"include_usage":true}}'
grep -qi '^content-type: text/event-stream' "$dir/headers" || fail "no text/event-stream header"
grep -q '^HTTP/1.1 200' "$dir/headers" || fail "status is not 200"
# Odd lines are events, even lines blank.
awk 'NR % 2 == 1 && !/^data: / { exit 1 } NR % 2 == 0 && length($0) { exit 1 }' "$dir/body" || fail "framing"
[ "$(tail -n 2 "$dir/body" | head -n 1)" = 'data: [DONE]' ] || fail "does not end with data: [DONE]"
[ "$(grep -c '^data: \[DONE\]$' "$dir/body")" = 1 ] || fail "[DONE] is not sent exactly once"
# Every event but [DONE] is JSON; the first has the role, the last but one a
# finish_reason, the last the usage and no choices.
grep '^data: {' "$dir/body" | sed 's/^data: //' > "$dir/events"
/usr/bin/python3 - "$dir/events" <<'PY' || fail "event contents"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert ev[0]["choices"][0]["delta"]["role"] == "assistant", ev[0]
assert all(e["object"] == "chat.completion.chunk" and e["id"] == ev[0]["id"] for e in ev)
assert ev[-2]["choices"][0]["finish_reason"] == "stop", ev[-2]
assert ev[-1]["choices"] == [] and ev[-1]["usage"]["completion_tokens"] > 0, ev[-1]
assert all(e["usage"] is None for e in ev[:-1])
kinds = [k for e in ev[1:-2] for k in e["choices"][0]["delta"]]
assert "reasoning_content" in kinds and "content" in kinds
first_content = kinds.index("content")
assert all(k == "content" for k in kinds[first_content:]), "reasoning after the answer"
PY

# Without include_usage no usage chunk; text completions stream too.
# A token whose bytes end inside a UTF-8 character sends no text of its own,
# so 3 tokens give 1 to 3 text events, then the finish event.
curl -sS -N -o "$dir/body" "$base/v1/completions" -d '{"prompt":"What is","max_tokens":3,"seed":2,"stream":true}'
n=$(grep -c '^data: {' "$dir/body")
[ "$n" -ge 2 ] && [ "$n" -le 4 ] || fail "completions: 1 to 3 text events and a finish event expected, got $n events"
[ "$(grep '^data: {' "$dir/body" | tail -n 1 | grep -c '"text":"","index":0,"logprobs":null,"finish_reason":"length"')" = 1 ] ||
  fail "completions: the last event is the finish event"
grep -q '"finish_reason":"length"' "$dir/body" || fail "completions: finish_reason length"
! grep -q '"usage"' "$dir/body" || fail "usage without include_usage"
kill -TERM $pid
wait $pid || fail "server exit status $?"
grep -q '^POST /v1/chat/completions 200 in=[0-9]* out=[1-9][0-9]* ' "$log" || { cat "$log"; fail "no log line"; }
echo "sse.sh: ok"
