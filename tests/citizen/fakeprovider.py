"""A small OpenID provider of our own whose ID tokens the tests shape and sign at will: the
tampering tests need tokens no honest provider issues (other key, expired, wrong audience...).

It checks what a real provider checks on the way in (one use per code, the PKCE verifier against
the challenge) so the happy path through it is a real protocol run too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import werkzeug.serving
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.wrappers import Request, Response


class FakeProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "good", "use": "sig"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "good", "use": "sig"})
        self.codes: dict[str, dict[str, Any]] = {}
        self.claims: dict[str, Any] = {}
        # Hooks for the tests: change the claims or header, or the raw token, before it leaves.
        self.mutate: Callable[[dict[str, Any], dict[str, Any]], None] | None = None
        self.sign_with: RSAKey | None = None
        self.raw: Callable[[str], str] | None = None
        self.with_id_token = True
        self.with_end_session = True
        self.token_status = 200
        # None: no userinfo endpoint; "json" or "jwt" (signed, as FranceConnect v2 answers).
        self.userinfo: str | None = None
        self.userinfo_claims: dict[str, Any] = {}
        self.userinfo_key: RSAKey | None = None
        self.token_requests = 0
        self.server = werkzeug.serving.make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(2)

    def discovery(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        if self.userinfo:
            doc["userinfo_endpoint"] = f"{self.issuer}/userinfo"
        if self.with_end_session:
            doc["end_session_endpoint"] = f"{self.issuer}/logout"
        return doc

    def id_token(self, *, client_id: str, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.claims,
        }
        header = {"alg": "RS256", "kid": "good"}
        if self.mutate:
            self.mutate(claims, header)
        token = jwt.encode(header, claims, self.sign_with or self.key)
        return self.raw(token) if self.raw else token

    @Request.application
    def app(self, request: Request) -> Response:
        if request.path == "/.well-known/openid-configuration":
            return _json(self.discovery())
        if request.path == "/jwks":
            return _json(KeySet([self.key]).as_dict(private=False))
        if request.path == "/authorize":
            code = secrets.token_urlsafe(16)
            self.codes[code] = dict(request.args)
            query = urlencode({"code": code, "state": request.args["state"]})
            return Response(
                status=302, headers={"Location": f"{request.args['redirect_uri']}?{query}"}
            )
        if request.path == "/token":
            self.token_requests += 1
            if self.token_status != 200:
                return Response("<h1>Service unavailable</h1>", status=self.token_status)
            started = self.codes.pop(request.form.get("code", ""), None)
            if started is None:
                return _json({"error": "invalid_grant", "error_description": "code used"}, 400)
            verifier = request.form.get("code_verifier", "")
            challenge = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                .rstrip(b"=")
                .decode()
            )
            if started.get("code_challenge_method") != "S256" or challenge != started.get(
                "code_challenge"
            ):
                return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            self.last_client_id = started["client_id"]
            body: dict[str, Any] = {"access_token": "at", "token_type": "Bearer", "expires_in": 60}
            if self.with_id_token:
                body["id_token"] = self.id_token(
                    client_id=started["client_id"], nonce=started.get("nonce", "")
                )
            return _json(body)
        if request.path == "/userinfo" and self.userinfo:
            if request.headers.get("Authorization") != "Bearer at":
                return Response(status=401)
            claims = {"sub": self.claims.get("sub"), **self.userinfo_claims}
            if self.userinfo == "json":
                return _json(claims)
            claims.update(iss=self.issuer, aud=self.last_client_id)
            token = jwt.encode(
                {"alg": "RS256", "kid": "good"}, claims, self.userinfo_key or self.key
            )
            return Response(token, mimetype="application/jwt")
        return Response("not found", status=404)


def _json(data: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")
