"""The OpenAI-compatible server (course_lib.serving), driven by the real ``openai`` client."""

import json
import socket
import urllib.error
import urllib.request

import keras
import numpy as np
import openai
import pytest

from course_lib import serving
from course_lib.models import gpt
from course_lib.tokenizers import CharTokenizer

TEXT = "ROMEO:\nBut soft, what light through yonder window breaks?\n\nASSISTANT:\nIt is the east.\n"
KEY = "test-key-123"


@pytest.fixture(scope="module")
def chat_model():
    tok = CharTokenizer.fit(TEXT + "USER:SYSTEM")
    keras.utils.set_random_seed(0)
    model = gpt.GPT(tok.vocab_size, 32, d_model=16, num_heads=2, num_layers=1)
    model(np.zeros((1, 2), dtype=np.int32))
    return serving.ChatModel(model, tok, name="tiny-gpt")


@pytest.fixture(scope="module")
def server(chat_model):
    with serving.CourseServer(chat_model, api_key=KEY) as srv:
        yield srv


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0, timeout=60)


def raw(server, path, body=None, key=KEY, method=None):
    """(status, parsed JSON body) of a request made without the client."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(server.base_url[: -len("/v1")] + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


MESSAGES = [{"role": "user", "content": "But soft"}]


def test_models_lists_the_served_model(client):
    names = [m.id for m in client.models.list()]
    assert names == ["tiny-gpt"]


def test_chat_completion_parses_and_respects_max_tokens(client):
    reply = client.chat.completions.create(model="tiny-gpt", messages=MESSAGES, max_tokens=7)
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert len(reply.choices[0].message.content) == 7  # a character model: 7 tokens, 7 chars
    assert reply.usage.completion_tokens == 7
    assert reply.usage.prompt_tokens == len(serving.chat_prompt(MESSAGES))
    assert reply.choices[0].finish_reason == "length"


def test_streaming_reply_matches_the_same_request_unstreamed(client):
    kwargs = dict(model="tiny-gpt", messages=MESSAGES, max_tokens=9, seed=5, temperature=0.8)
    whole = client.chat.completions.create(**kwargs).choices[0].message.content
    chunks = list(client.chat.completions.create(stream=True, **kwargs))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole and len(text) == 9
    assert chunks[-1].choices[0].finish_reason == "length"


def test_the_stream_is_server_sent_events_ending_in_done(server):
    body = {"model": "tiny-gpt", "messages": MESSAGES, "max_tokens": 4, "stream": True}
    req = urllib.request.Request(server.base_url + "/chat/completions", json.dumps(body).encode())
    req.add_header("Authorization", f"Bearer {KEY}")
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.headers["Content-Type"] == "text/event-stream"
        lines = resp.read().decode().split("\n")
    data = [line for line in lines if line]
    assert all(line.startswith("data: ") for line in data)
    assert data[-1] == "data: [DONE]"
    assert len(serving.parse_sse_text(lines)) == 4


def test_temperature_zero_is_greedy_and_seed_repeats(client):
    def text(**kw):
        reply = client.chat.completions.create(
            model="tiny-gpt", messages=MESSAGES, max_tokens=12, **kw
        )
        return reply.choices[0].message.content

    assert text(temperature=0, seed=1) == text(temperature=0, seed=2)
    assert text(temperature=1.5, seed=3) == text(temperature=1.5, seed=3)
    hot = {text(temperature=2, seed=s) for s in range(4)}
    assert len(hot) > 1  # an untrained model at temperature 2 does not repeat itself


def test_temperature_zero_is_the_models_argmax(chat_model, client):
    reply = client.chat.completions.create(
        model="tiny-gpt", messages=MESSAGES, max_tokens=1, temperature=0
    )
    ids = chat_model.encode_prompt(serving.chat_prompt(MESSAGES))
    logits = np.asarray(chat_model.model(ids[None]))[0, -1]
    assert reply.choices[0].message.content == chat_model.tokenizer.decode([int(logits.argmax())])


def test_unknown_model_is_404_in_openais_shape(client, server):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-9", messages=MESSAGES)
    assert info.value.status_code == 404
    status, body = raw(server, "/v1/chat/completions", {"model": "gpt-9", "messages": MESSAGES})
    assert status == 404
    assert body["error"]["code"] == "model_not_found" and "gpt-9" in body["error"]["message"]
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_malformed_json_is_400_in_openais_shape(server):
    status, body = raw(server, "/v1/chat/completions", b'{"model": "tiny-gpt", "messages": [')
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert "not valid JSON" in body["error"]["message"]


@pytest.mark.parametrize(
    "change, param",
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user"}]}, "messages[0]"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 10**6}, "max_tokens"),
        ({"max_tokens": "5"}, "max_tokens"),
        ({"temperature": 3}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"n": 2}, "n"),
        ({"model": None}, "model"),
    ],
)
def test_bad_fields_are_400_naming_the_field(server, change, param):
    status, body = raw(
        server, "/v1/chat/completions", {"model": "tiny-gpt", "messages": MESSAGES, **change}
    )
    assert status == 400, body
    assert body["error"]["param"] == param


def test_the_client_raises_bad_request_for_a_bad_field(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="tiny-gpt", messages=MESSAGES, temperature=5)


def test_wrong_or_missing_key_is_401(server):
    bad = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    status, body = raw(server, "/v1/models", key=None)
    assert status == 401 and body["error"]["code"] == "invalid_api_key"


def test_unknown_path_is_404(server):
    assert raw(server, "/v1/nothing")[0] == 404
    assert raw(server, "/v1/embeddings", {"input": "x"})[0] == 404


def test_key_comes_from_the_environment(chat_model, monkeypatch):
    monkeypatch.setenv(serving.API_KEY_ENV, "from-env")
    with serving.CourseServer(chat_model) as srv:
        assert srv.api_key == "from-env"
        ok = openai.OpenAI(base_url=srv.base_url, api_key="from-env", max_retries=0)
        assert [m.id for m in ok.models.list()] == ["tiny-gpt"]


def test_binds_loopback_only_and_stops_cleanly(chat_model):
    srv = serving.CourseServer(chat_model, api_key=KEY).start()
    host, port = srv._httpd.server_address
    assert host == "127.0.0.1" and srv.base_url == f"http://127.0.0.1:{port}/v1"
    assert srv.running
    srv.stop()
    assert not srv.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    srv.stop()  # stopping twice is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = srv.base_url


def test_parse_sse_text_reads_a_stream():
    chunks = [
        serving.sse_event({"choices": [{"delta": {"role": "assistant", "content": ""}}]}),
        b": a comment line\n\n",
        serving.sse_event({"choices": [{"delta": {"content": "Hel"}}]}),
        serving.sse_event({"choices": [{"delta": {"content": None}}]}),
        serving.sse_event({"choices": [{"delta": {"content": "lo"}}]}),
        serving.sse_event("[DONE]"),
        serving.sse_event({"choices": [{"delta": {"content": "ignored"}}]}),
    ]
    lines = b"".join(chunks).decode().split("\n")
    assert serving.parse_sse_text(lines) == "Hello"


def test_chat_prompt_and_unknown_characters():
    prompt = serving.chat_prompt(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
        ]
    )
    assert prompt == "SYSTEM:\nBe brief.\n\nUSER:\nHi\n\nASSISTANT:\n"
    tok = CharTokenizer.fit("abc")
    chat = serving.ChatModel(object(), tok)
    assert tok.decode(chat.encode_prompt("a€b")) == "ab"  # unknown characters dropped


def test_server_refuses_bad_construction(chat_model):
    with pytest.raises(TypeError):
        serving.CourseServer()
    with pytest.raises(ValueError, match="share a name"):
        serving.CourseServer(chat_model, chat_model)
    with pytest.raises(TypeError, match="encode"):
        serving.ChatModel(object(), object())


# -- /v1/responses ---------------------------------------------------------------------------


def _chat_text(client, messages, n):
    reply = client.chat.completions.create(
        model="tiny-gpt", messages=messages, max_tokens=n, temperature=0
    )
    return reply.choices[0].message.content


def test_responses_api_answers_with_the_chat_models_words(client):
    resp = client.responses.create(
        model="tiny-gpt", input="But soft", max_output_tokens=8, temperature=0
    )
    assert resp.object == "response" and resp.id.startswith("resp_")
    assert resp.status == "incomplete" and resp.incomplete_details.reason == "max_output_tokens"
    assert resp.output[0].role == "assistant" and resp.output[0].content[0].type == "output_text"
    assert len(resp.output_text) == 8 and resp.usage.output_tokens == 8
    assert resp.usage.input_tokens == len(serving.chat_prompt(MESSAGES))
    # the same prompt as the chat route: greedy decoding gives the same words
    assert resp.output_text == _chat_text(client, MESSAGES, 8)


def test_responses_instructions_and_message_lists_become_chat_messages(client, chat_model):
    resp = client.responses.create(
        model="tiny-gpt",
        instructions="Speak well",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "But soft"}]}],
        max_output_tokens=6,
        temperature=0,
    )
    messages = [{"role": "system", "content": "Speak well"}, *MESSAGES]
    assert resp.output_text == _chat_text(client, messages, 6)
    assert resp.usage.input_tokens == chat_model.prompt_tokens(messages)  # known characters


def test_responses_stream_is_typed_events_that_add_up_to_the_reply(client):
    kwargs = dict(model="tiny-gpt", input="But soft", max_output_tokens=5, temperature=0)
    events = list(client.responses.create(stream=True, **kwargs))
    kinds = [e.type for e in events]
    assert kinds == ["response.created"] + ["response.output_text.delta"] * 5 + [
        "response.output_text.done",
        "response.incomplete",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == events[-2].text == events[-1].response.output_text
    assert text == client.responses.create(**kwargs).output_text


@pytest.mark.parametrize(
    "change, param",
    [
        ({"input": ""}, "input"),
        ({"input": [{"role": "user"}]}, "input[0]"),
        ({"instructions": 3}, "instructions"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"temperature": 5}, "temperature"),
    ],
)
def test_responses_bad_fields_are_400_naming_the_field(server, change, param):
    body = {"model": "tiny-gpt", "input": "But soft", **change}
    status, reply = raw(server, "/v1/responses", body)
    assert status == 400 and reply["error"]["param"] == param
    assert reply["error"]["type"] == "invalid_request_error"


def test_responses_unknown_model_is_404(server):
    status, reply = raw(server, "/v1/responses", {"model": "gpt-9", "input": "hi"})
    assert status == 404 and reply["error"]["code"] == "model_not_found"
