"""The runtime's Python test guest (componentize-py). Input: {"mode": ...}."""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import host


class WitWorld(wit_world.WitWorld):
    def get_name(self) -> str:
        return "py-probe"

    def get_description(self) -> str:
        return "A Python skill used to test the runtime"

    def execute(self, input: str) -> str:
        request = json.loads(input)
        mode = request.get("mode", "echo")
        if mode == "echo":
            return json.dumps({"echo": request, "language": "python"})
        if mode == "log":
            host.log("info", "hello from python")
            return json.dumps({"logged": True})
        if mode == "http":
            try:
                return json.dumps({"body": host.http_get(request["url"])})
            except Err as e:
                raise Err(f"http-get failed: {e.value}")
        if mode == "secret":
            return json.dumps({"secret": host.get_secret("API_KEY")})
        if mode == "big":
            # Memory in proportion to the input: a string and its copies.
            return json.dumps({"length": len(request.get("text", "") * 4)})
        raise Err(f"unknown mode {mode}")
