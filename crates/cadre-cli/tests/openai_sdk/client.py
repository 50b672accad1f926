"""Drives Cadre's OpenAI-compatible endpoint with OpenAI's official Python SDK, as a
user's own code would, and prints what it saw as one JSON object for the Rust test
(crates/cadre-cli/tests/openai_compat.rs) to judge.

Usage: client.py BASE_URL TOKEN TEAM_ID
"""

import json
import sys

import openai

base, token, team = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(api_key=token, base_url=f"{base}/v1", max_retries=0, timeout=120)
extra = {"cadre": {"model": "demo"}}
seen = {}

seen["models"] = [model.id for model in client.models.list()]

# Streaming, with usage: the team's messages as reasoning, then the answer.
stream = client.chat.completions.create(
    model=f"cadre/team/{team}",
    messages=[
        {"role": "system", "content": "Answer in one paragraph."},
        {"role": "user", "content": "Compare the first 20 Fibonacci numbers with the first 20 primes"},
    ],
    stream=True,
    stream_options={"include_usage": True},
    extra_body=extra,
)
content, reasoning, finish, usage, ids = [], [], [], None, set()
with stream:
    for chunk in stream:
        ids.add(chunk.id)
        if chunk.usage is not None:
            usage = chunk.usage.model_dump()
        for choice in chunk.choices:
            if choice.delta.content:
                content.append(choice.delta.content)
            extra_fields = choice.delta.model_extra or {}
            if extra_fields.get("reasoning_content"):
                reasoning.append(extra_fields["reasoning_content"])
            if choice.finish_reason:
                finish.append(choice.finish_reason)
seen["stream"] = {
    "content": "".join(content),
    "reasoning": "".join(reasoning),
    "finish": finish,
    "usage": usage,
    "ids": sorted(ids),
}

# Not streaming, with a team built for the prompt.
answer = client.chat.completions.create(
    model="cadre/auto",
    messages=[{"role": "user", "content": "Plan a small study of prime gaps"}],
    extra_body=extra,
)
seen["auto"] = {
    "id": answer.id,
    "content": answer.choices[0].message.content,
    "role": answer.choices[0].message.role,
    "finish": answer.choices[0].finish_reason,
    "usage": answer.usage.model_dump() if answer.usage else None,
}


def error_of(call):
    try:
        call()
    except openai.APIStatusError as error:
        return {
            "class": type(error).__name__,
            "status": error.status_code,
            "body": error.body,
        }
    return None


bad = openai.OpenAI(api_key="cadre_pat_not-a-real-token", base_url=f"{base}/v1", max_retries=0)
seen["bad_token"] = error_of(
    lambda: bad.chat.completions.create(
        model="cadre/auto", messages=[{"role": "user", "content": "hi"}], extra_body=extra
    )
)
seen["bad_token_stream"] = error_of(
    lambda: list(
        bad.chat.completions.create(
            model="cadre/auto",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            extra_body=extra,
        )
    )
)
seen["unknown_model"] = error_of(
    lambda: client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], extra_body=extra
    )
)
print(json.dumps(seen))
