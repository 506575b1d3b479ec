"""An OpenAI-compatible HTTP server for the course's own mini-GPT (chapter 04), on 127.0.0.1.

The ``openai`` client speaks a small HTTP protocol; any server that speaks it can stand
in for OpenAI's. This one serves a :class:`course_lib.models.gpt.GPT` and its tokenizer:

- ``GET /v1/models``: the models served, in OpenAI's list shape;
- ``POST /v1/chat/completions``: a chat reply, in one JSON body or, with
  ``"stream": true``, as server-sent events (``data: {...}`` lines) ending in
  ``data: [DONE]``. ``max_tokens`` (or ``max_completion_tokens``), ``temperature``
  (0 means greedy), ``top_p`` and ``seed`` are honoured;
- ``POST /v1/responses``: the newer Responses API over the same model: ``input`` (a
  string, or a list of messages), optional ``instructions`` (a system message),
  ``max_output_tokens``, ``temperature``, ``top_p``; one ``response`` object, or with
  ``"stream": true`` the typed events ``response.created``,
  ``response.output_text.delta`` (one per token), ``response.output_text.done`` and
  ``response.incomplete`` (the model has no stop token and always writes up to the
  limit: OpenAI's status for that is ``incomplete``, reason ``max_output_tokens``);
- errors in OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``: 400 for
  malformed JSON or a bad field, 401 for a wrong key, 404 for an unknown model or path.

Teaching order: :func:`chat_prompt` (messages -> the text the model continues),
:func:`sse_event` and :func:`parse_sse_text` (the streaming wire format, both ways),
:class:`ChatModel` (a model + tokenizer behind a name), :class:`CourseServer`
(``with CourseServer(chat_model) as server: OpenAI(base_url=server.base_url, ...)``).

The server is the standard library's ``ThreadingHTTPServer`` in a background thread,
bound to 127.0.0.1 on a free port (nothing outside this machine can reach it). The key it
expects is ``api_key=`` or else the environment variable ``COURSE_API_KEY``; with neither,
it accepts any key (the client must still send one). Generation is serialised by a lock:
one model, one request at a time.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from course_lib.conventions import as_positive_int

API_KEY_ENV = "COURSE_API_KEY"
MAX_TOKENS_LIMIT = 2048  # the most tokens one request may ask for
DEFAULT_MAX_TOKENS = 64


# -- the chat format and the streaming wire format --------------------------------------


def chat_prompt(messages) -> str:
    """The text the model continues for a list of chat ``messages``.

    A character model trained on plays knows speakers' names followed by their lines, so
    each message becomes ``"ROLE:\\n<content>\\n\\n"`` (roles in capitals) and the prompt
    ends with ``"ASSISTANT:\\n"``: the model writes the next speaker's line.
    """
    parts = [f"{m['role'].upper()}:\n{_content_text(m['content'])}\n\n" for m in messages]
    return "".join(parts) + "ASSISTANT:\n"


def _content_text(content) -> str:
    """A message's content as text: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content)


def sse_event(data) -> bytes:
    """One server-sent event: ``data: <json>`` (or ``data: [DONE]``) and a blank line."""
    text = data if isinstance(data, str) else json.dumps(data)
    return f"data: {text}\n\n".encode()


def parse_sse_text(lines) -> str:
    """The reply text carried by a chat-completion stream, read line by line.

    ``lines`` are the stream's lines (strings or bytes). Lines that are not ``data:``
    lines (blank lines, ``: comments``, ``event:``) are skipped; ``data: [DONE]`` ends the
    stream; every other data line is a JSON chunk whose ``choices[0].delta.content``
    (absent or null in some chunks) is appended.
    """
    text = []
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode()
        line = line.strip()
        if not line.startswith("data:"):
            continue
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            break
        chunk = json.loads(payload)
        for choice in chunk.get("choices", []):
            piece = choice.get("delta", {}).get("content")
            if piece:
                text.append(piece)
    return "".join(text)


# -- a model behind a name ---------------------------------------------------------------


class RequestError(ValueError):
    """A request the server refuses: its HTTP status and OpenAI's error fields."""

    def __init__(self, status: int, message: str, *, param=None, code=None, kind=None):
        super().__init__(message)
        self.status, self.param, self.code = status, param, code
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def body(self) -> dict:
        return {
            "error": {
                "message": str(self),
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }


class ChatModel:
    """A language model and its tokenizer, served under ``name``.

    ``model`` is a :class:`~course_lib.models.gpt.GPT` (anything
    :func:`~course_lib.models.gpt.iter_generate` accepts); ``tokenizer`` has ``encode``,
    ``decode`` and, for a character tokenizer, ``chars``: characters it does not know are
    dropped from the prompt rather than refused.
    """

    def __init__(self, model, tokenizer, name: str = "course-mini-gpt"):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        for attr in ("encode", "decode"):
            if not callable(getattr(tokenizer, attr, None)):
                raise TypeError(f"tokenizer must have an {attr}() method; got {tokenizer!r}")
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.created = int(time.time())
        self._lock = threading.Lock()

    def encode_prompt(self, text: str) -> np.ndarray:
        known = getattr(self.tokenizer, "chars", None)
        if known is not None:
            known = set(known)
            text = "".join(ch for ch in text if ch in known)
        ids = np.asarray(self.tokenizer.encode(text), dtype=np.int32)
        if ids.size == 0:  # nothing the model knows: start from its first token
            ids = np.zeros(1, dtype=np.int32)
        return ids

    def stream(self, messages, *, max_tokens: int, temperature: float, top_p=None, seed=0):
        """Yield the reply's text piece by piece (one token each), under the model's lock."""
        from course_lib.models import gpt

        ids = self.encode_prompt(chat_prompt(messages))
        greedy = temperature == 0
        with self._lock:
            for nxt in gpt.iter_generate(
                self.model,
                ids,
                max_tokens,
                temperature=1.0 if greedy else float(temperature),
                top_k=1 if greedy else None,
                top_p=None if greedy or top_p is None else float(top_p),
                seed=int(seed),
            ):
                yield self.tokenizer.decode(nxt[:1])

    def prompt_tokens(self, messages) -> int:
        return int(self.encode_prompt(chat_prompt(messages)).size)


# -- checking a request --------------------------------------------------------------------


def _number(body, key, low, high, default):
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise RequestError(
            400, f"'{key}' must be a number from {low} to {high}; got {value!r}", param=key
        )
    return value


def check_chat_request(body, models: dict) -> dict:
    """The settings of a chat request, checked; :class:`RequestError` names a bad field."""
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise RequestError(400, "'model' is required: the name of a served model", param="model")
    if name not in models:
        raise RequestError(
            404,
            f"The model '{name}' does not exist; this server has: {', '.join(sorted(models))}",
            param="model",
            code="model_not_found",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError(400, "'messages' must be a non-empty list", param="messages")
    for i, m in enumerate(messages):
        ok = isinstance(m, dict) and isinstance(m.get("role"), str)
        content = m.get("content") if isinstance(m, dict) else None
        ok = ok and (
            isinstance(content, str)
            or isinstance(content, list)
            and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in content)
        )
        if not ok:
            raise RequestError(
                400,
                f"messages[{i}] must be an object with a string 'role' and a text 'content'",
                param=f"messages[{i}]",
            )
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = body.get(key)
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    elif (
        isinstance(max_tokens, bool)
        or not isinstance(max_tokens, int)
        or not 1 <= max_tokens <= MAX_TOKENS_LIMIT
    ):
        raise RequestError(
            400,
            f"'{key}' must be an integer from 1 to {MAX_TOKENS_LIMIT}; got {max_tokens!r}",
            param=key,
        )
    n = body.get("n", 1)
    if n not in (None, 1):
        raise RequestError(
            400, f"this server makes one choice per request ('n' = 1); got {n!r}", param="n"
        )
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise RequestError(400, f"'seed' must be an integer; got {seed!r}", param="seed")
    stream = body.get("stream", False)
    if stream not in (None, True, False):
        raise RequestError(400, f"'stream' must be true or false; got {stream!r}", param="stream")
    return {
        "model": name,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": _number(body, "temperature", 0, 2, 1.0),
        "top_p": _number(body, "top_p", 0, 1, None) or None,
        "seed": seed,
        "stream": bool(stream),
    }


def check_responses_request(body, models: dict) -> dict:
    """The settings of a ``/v1/responses`` request, checked, in the chat request's terms.

    ``instructions`` becomes a system message and ``input`` the messages after it (a
    string is one user message); ``max_output_tokens`` is the reply's token limit.
    :class:`RequestError` names a bad field by its Responses-API name.
    """
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    messages = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise RequestError(
                400, f"'instructions' must be a string; got {instructions!r}", param="instructions"
            )
        messages.append({"role": "system", "content": instructions})
    given = body.get("input")
    if isinstance(given, str) and given:
        messages.append({"role": "user", "content": given})
    elif isinstance(given, list) and given:
        for i, item in enumerate(given):
            content = item.get("content") if isinstance(item, dict) else None
            if isinstance(content, list):  # [{"type": "input_text", "text": ...}, ...]
                texts = [p.get("text") if isinstance(p, dict) else None for p in content]
                content = (
                    "".join(texts) if texts and all(isinstance(t, str) for t in texts) else None
                )
            if not isinstance(content, str) or not isinstance(item.get("role"), str):
                raise RequestError(
                    400,
                    f"input[{i}] must be a message: an object with a string 'role' and a text "
                    "'content'",
                    param=f"input[{i}]",
                )
            messages.append({"role": item["role"], "content": content})
    else:
        raise RequestError(
            400,
            f"'input' must be a non-empty string or a non-empty list of messages; got {given!r}",
            param="input",
        )
    limit = body.get("max_output_tokens")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TOKENS_LIMIT
    ):
        raise RequestError(
            400,
            f"'max_output_tokens' must be an integer from 1 to {MAX_TOKENS_LIMIT}; got {limit!r}",
            param="max_output_tokens",
        )
    chat = {key: body.get(key) for key in ("model", "temperature", "top_p", "stream", "seed")}
    return check_chat_request({**chat, "messages": messages, "max_tokens": limit}, models)


def _response_object(chat, rid: str, created: int, text: str, settings, n_out: int, done: bool):
    """A Responses-API ``response``: one assistant message with one ``output_text`` part."""
    prompt = chat.prompt_tokens(settings["messages"])
    message = {
        "type": "message",
        "id": "msg_" + rid[len("resp_") :],
        "status": "completed" if done else "in_progress",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}] if done else [],
    }
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "model": chat.name,
        # the model always writes until the limit: OpenAI calls that "incomplete"
        "status": "incomplete" if done else "in_progress",
        "incomplete_details": {"reason": "max_output_tokens"} if done else None,
        "output": [message] if done else [],
        "parallel_tool_calls": False,
        "tool_choice": "none",
        "tools": [],
        "temperature": settings["temperature"],
        "top_p": settings["top_p"],
        "max_output_tokens": settings["max_tokens"],
        "usage": {
            "input_tokens": prompt,
            "output_tokens": n_out,
            "total_tokens": prompt + n_out,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        }
        if done
        else None,
    }


# -- the HTTP server -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server_version = "CourseServer/1.0"
    protocol_version = "HTTP/1.0"  # one request per connection; a stream ends at close

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        self.server.course.log.append(f"{self.command} {self.path} " + format % args)

    # -- replies
    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, err: RequestError) -> None:
        self._json(err.status, err.body())

    def _authorised(self) -> bool:
        expected = self.server.course.api_key
        given = self.headers.get("Authorization", "")
        if not given.startswith("Bearer ") or not given[7:].strip():
            self._error(
                RequestError(
                    401,
                    "no API key: send 'Authorization: Bearer <key>'",
                    code="invalid_api_key",
                    kind="authentication_error",
                )
            )
            return False
        if expected is not None and given[7:].strip() != expected:
            self._error(
                RequestError(
                    401, "incorrect API key", code="invalid_api_key", kind="authentication_error"
                )
            )
            return False
        return True

    # -- routes
    def do_GET(self):  # noqa: N802 (the base class's name)
        path = self.path.split("?")[0].rstrip("/")
        if path not in ("/v1/models",) and not path.startswith("/v1/models/"):
            return self._error(RequestError(404, f"unknown path {self.path}", code="not_found"))
        if not self._authorised():
            return
        models = self.server.course.models
        if path == "/v1/models":
            return self._json(
                200, {"object": "list", "data": [_model_card(m) for m in models.values()]}
            )
        name = path[len("/v1/models/") :]
        if name not in models:
            return self._error(
                RequestError(
                    404, f"The model '{name}' does not exist", param="model", code="model_not_found"
                )
            )
        return self._json(200, _model_card(models[name]))

    def do_POST(self):  # noqa: N802
        path = self.path.split("?")[0].rstrip("/")
        checks = {
            "/v1/chat/completions": check_chat_request,
            "/v1/responses": check_responses_request,
        }
        if path not in checks:
            return self._error(RequestError(404, f"unknown path {self.path}", code="not_found"))
        if not self._authorised():
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise RequestError(400, f"the request body is not valid JSON: {err}") from None
            settings = checks[path](body, self.server.course.models)
        except RequestError as err:
            return self._error(err)
        self.server.course.requests += 1
        if settings["seed"] is None:
            settings["seed"] = self.server.course.requests
        chat = self.server.course.models[settings["model"]]
        if path == "/v1/responses":
            return self._respond(chat, settings)
        if settings["stream"]:
            return self._stream(chat, settings)
        pieces = list(_pieces(chat, settings))
        text = "".join(pieces)
        prompt = chat.prompt_tokens(settings["messages"])
        self._json(
            200,
            {
                "id": _new_id(),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": chat.name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "length",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": len(pieces),
                    "total_tokens": prompt + len(pieces),
                },
            },
        )

    def _stream(self, chat, settings) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        head = {
            "id": _new_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": chat.name,
        }

        def chunk(delta, finish=None):
            return sse_event(
                {
                    **head,
                    "choices": [
                        {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
                    ],
                }
            )

        try:
            self.wfile.write(chunk({"role": "assistant", "content": ""}))
            for piece in _pieces(chat, settings):
                self.wfile.write(chunk({"content": piece}))
                self.wfile.flush()
            self.wfile.write(chunk({}, "length"))
            self.wfile.write(sse_event("[DONE]"))
        except (BrokenPipeError, ConnectionResetError):  # the client went away: stop drawing
            pass

    def _respond(self, chat, settings) -> None:
        """``/v1/responses``: one response object, or its stream of typed events."""
        rid, created = "resp_" + uuid.uuid4().hex[:24], int(time.time())
        if not settings["stream"]:
            pieces = list(_pieces(chat, settings))
            body = _response_object(
                chat, rid, created, "".join(pieces), settings, len(pieces), True
            )
            return self._json(200, body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        number = iter(range(10**9))
        item = "msg_" + rid[len("resp_") :]

        def event(kind, **fields):
            data = {"type": kind, "sequence_number": next(number), **fields}
            return f"event: {kind}\n".encode() + sse_event(data)

        where = {"item_id": item, "output_index": 0, "content_index": 0}
        try:
            start = _response_object(chat, rid, created, "", settings, 0, False)
            self.wfile.write(event("response.created", response=start))
            pieces = []
            for piece in _pieces(chat, settings):
                pieces.append(piece)
                self.wfile.write(
                    event("response.output_text.delta", delta=piece, logprobs=[], **where)
                )
                self.wfile.flush()
            text = "".join(pieces)
            self.wfile.write(event("response.output_text.done", text=text, logprobs=[], **where))
            end = _response_object(chat, rid, created, text, settings, len(pieces), True)
            # the model always stops at the token limit: OpenAI's event for that is "incomplete"
            self.wfile.write(event("response.incomplete", response=end))
        except (BrokenPipeError, ConnectionResetError):  # the client went away: stop drawing
            pass


def _pieces(chat, settings):
    return chat.stream(
        settings["messages"],
        max_tokens=settings["max_tokens"],
        temperature=settings["temperature"],
        top_p=settings["top_p"],
        seed=settings["seed"],
    )


def _new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex[:24]


def _model_card(chat: ChatModel) -> dict:
    return {"id": chat.name, "object": "model", "created": chat.created, "owned_by": "course"}


class CourseServer:
    """An OpenAI-compatible server for one or more :class:`ChatModel` s, in a thread.

    ``start()`` binds 127.0.0.1 on a free port (or ``port``) and serves in a background
    thread; ``stop()`` shuts it down and closes the socket. As a context manager it does
    both. ``base_url`` (``http://127.0.0.1:<port>/v1``) is what the ``openai`` client needs.
    """

    host = "127.0.0.1"

    def __init__(self, *models: ChatModel, api_key: str | None = None, port: int = 0):
        if not models or not all(isinstance(m, ChatModel) for m in models):
            raise TypeError("CourseServer needs one or more ChatModel objects")
        self.models = {m.name: m for m in models}
        if len(self.models) != len(models):
            raise ValueError("two models share a name; give each ChatModel its own name")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        self.port = 0 if port == 0 else as_positive_int(port, "port")
        self.log: list[str] = []
        self.requests = 0
        self._httpd = None
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running: call start() first")
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> CourseServer:
        if self.running:
            return self
        self._httpd = ThreadingHTTPServer((self.host, self.port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.course = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="course-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
        self._httpd = self._thread = None

    def __enter__(self) -> CourseServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._httpd is not None else "stopped"
        return f"CourseServer({', '.join(self.models)}; {where})"
