"""Runs INSIDE the pinned LiteLLM venv (.cache/tools/litellm), never imported by pytest.

    python gateway_probe.py REQUEST.json RESULT.json

For every config file named in the request, LiteLLM's own proxy config loader
(`litellm.proxy.proxy_server.ProxyConfig.load_config`, what `litellm --config` runs) builds the router,
and the probe reports what it loaded: deployments, model groups, fallbacks, aliases, router settings.

For the configs listed under "behaviour" it then sends one chat request per model name through the
loaded router, with only loopback traffic:
- open-weight deployments are re-pointed at a fake vLLM server on 127.0.0.1 that answers as the model
  it was asked for (the in-cluster Service names do not resolve here);
- managed-API deployments keep their real host: HTTPS goes through an HTTP CONNECT proxy on 127.0.0.1
  that records the host:port asked for and refuses the tunnel, so the provider fails as if down and
  nothing leaves the machine. Vertex's OAuth token exchange is stubbed (it would be a second host);
  the Vertex request itself still goes through LiteLLM's URL building and transport.
The report says, per model name, which hosts were dialled and which open-weight model answered.
Under "keys" a copy with every managed deployment re-pointed at the fake shows which credential
headers arrived, so a test can check that each `os.environ/<VAR>` reference resolved to its key.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONNECTS: list[str] = []
ANSWERED: list[dict] = []
# Models the fake serves with a short context: a prompt starting with LONG exceeds it, and the fake answers as
# vLLM does (400, "maximum context length"), which LiteLLM maps to a context-window error.
SHORT_CONTEXT: set[str] = set()


class FakeUpstream(BaseHTTPRequestHandler):
    """An OpenAI-compatible server answering as whichever model it is asked for; asked with tools, it calls the
    first one, as vLLM does for a model started with a tool-call parser."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        ANSWERED.append({"path": self.path, "model": body.get("model"), "headers": dict(self.headers),
                         "tools": body.get("tools"), "tool_choice": body.get("tool_choice")})
        prompt = " ".join(str(m.get("content")) for m in body.get("messages", []))
        if body.get("model") in SHORT_CONTEXT and prompt.startswith("LONG"):
            error = json.dumps({"object": "error", "type": "BadRequestError", "code": 400, "message": (
                "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens "
                "(8000 in the messages, 1000 in the completion). Please reduce the length of the messages "
                "or completion.")}).encode()
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(error)))
            self.end_headers()
            self.wfile.write(error)
            return
        message = {"role": "assistant", "content": f"answered by {body.get('model')}"}
        finish = "stop"
        if body.get("tools"):
            call = {"id": "call-probe", "type": "function",
                    "function": {"name": body["tools"][0]["function"]["name"], "arguments": "{}"}}
            message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        out = {"id": "chatcmpl-probe", "object": "chat.completion", "created": 0, "model": body.get("model"),
               "choices": [{"index": 0, "finish_reason": finish, "message": message}],
               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - vLLM's /health: 200 while the server runs
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def connect_proxy() -> int:
    """Records `CONNECT host:port` and refuses: the provider looks down, nothing leaves loopback."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)

    def serve():
        while True:
            conn, _ = sock.accept()
            with conn:
                conn.settimeout(5)
                try:
                    first = conn.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
                except OSError:
                    continue
                CONNECTS.append(first)
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def fake_upstream() -> str:
    """Start the fake OpenAI-compatible server on a free loopback port; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeUpstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def host_of(connect_line: str) -> str:
    parts = connect_line.split()
    return parts[1].rsplit(":", 1)[0] if len(parts) > 1 and parts[0] == "CONNECT" else connect_line


def main(request_path: str, result_path: str) -> None:
    request = json.load(open(request_path))
    fake = fake_upstream()
    proxy = f"http://127.0.0.1:{connect_proxy()}"
    os.environ.update({"HTTPS_PROXY": proxy, "https_proxy": proxy, "HTTP_PROXY": proxy, "http_proxy": proxy,
                       "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
                       "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                       # No back-off before the retry: the test checks where requests land, not how long
                       # LiteLLM waits (the config's num_retries still applies).
                       "INITIAL_RETRY_DELAY": "0", "JITTER": "0"})
    os.environ.update(request.get("env", {}))

    import litellm
    import yaml
    from litellm.llms.vertex_ai.vertex_llm_base import VertexBase
    from litellm.proxy.proxy_server import ProxyConfig

    async def _token_async(self, credentials, project_id, *args, **kwargs):
        return "probe-token", project_id or "probe-project"

    VertexBase.get_access_token_async = _token_async
    VertexBase.get_access_token = lambda self, credentials, project_id, *a, **k: ("probe-token", project_id)

    async def load(path: str):
        router, _, _ = await ProxyConfig().load_config(router=None, config_file_path=path)
        return router

    def describe(router) -> dict:
        deployments = []
        for d in router.model_list:
            params = d["litellm_params"]
            _, provider, _, _ = litellm.get_llm_provider(model=params["model"], api_base=params.get("api_base"))
            deployments.append({"model_name": d["model_name"], "model": params["model"], "provider": provider,
                                "api_base": params.get("api_base"),
                                "endpoint": params.get("aws_bedrock_runtime_endpoint"),
                                "extra": {k: params.get(k) for k in ("inference_geo", "vertex_location",
                                                                    "aws_region_name") if params.get(k)}})
        return {"deployments": deployments, "model_names": sorted(router.get_model_names()),
                "fallbacks": router.fallbacks, "aliases": dict(router.model_group_alias),
                "context_window_fallbacks": router.context_window_fallbacks,
                "settings": {"num_retries": router.num_retries, "timeout": router.timeout,
                             "allowed_fails": router.allowed_fails, "cooldown_time": router.cooldown_time}}

    def rewritten(path: str, managed_to_fake: bool) -> str:
        doc = yaml.safe_load(open(path))
        for d in doc["model_list"]:
            params = d["litellm_params"]
            if params["model"].startswith("hosted_vllm/"):
                params["api_base"] = f"{fake}/v1"
            elif managed_to_fake:
                if "aws_bedrock_runtime_endpoint" in params:
                    params["aws_bedrock_runtime_endpoint"] = fake
                else:
                    params["api_base"] = fake
        out = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        yaml.safe_dump(doc, out)
        out.close()
        return out.name

    async def ask(router, names) -> dict:
        answers = {}
        for name in names:
            CONNECTS.clear()
            ANSWERED.clear()
            error = None
            try:
                await asyncio.wait_for(router.acompletion(model=name, messages=[{"role": "user", "content": "hi"}]), 60)
            except Exception as exc:  # reported, judged by the test
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
            answers[name] = {"dialled": sorted({host_of(c) for c in CONNECTS}),
                             "answered_by": [a["model"] for a in ANSWERED], "error": error,
                             "headers": [a["headers"] for a in ANSWERED]}
        return answers

    result = {}
    for name, path in request["configs"].items():
        entry = {"loaded": describe(asyncio.run(load(path)))}
        if name in request.get("behaviour", ()):
            router = asyncio.run(load(rewritten(path, managed_to_fake=False)))
            names = sorted(set(router.get_model_names()))
            entry["answers"] = asyncio.run(ask(router, names))
        if name in request.get("keys", ()):
            router = asyncio.run(load(rewritten(path, managed_to_fake=True)))
            managed = sorted({d["model_name"] for d in router.model_list
                              if not d["litellm_params"]["model"].startswith("hosted_vllm/")})
            entry["keys"] = {m: a["headers"][:1] for m, a in asyncio.run(ask(router, managed)).items()}
        result[name] = entry
    json.dump(result, open(result_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
