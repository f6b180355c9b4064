"""An OpenID-Connect-style identity provider for swift-mcpo's JWT tests: discovery, a JWKS with one key per
algorithm family, and admin hooks that mint good and deliberately bad tokens, rotate keys, take the provider
down and count every fetch. Standard library HTTP server + `cryptography` + `PyJWT`, on 127.0.0.1 only.

    .venv-mcp1/bin/python Tests/Fixtures/python/idp/idp_fixture.py [--port N] [--realm main] [--max-age 3600]
                                                                   [--omit-jwk-alg]

The first line on stdout is JSON: {"port": <port>, "issuer": "http://127.0.0.1:<port>/realms/<realm>"}.

Signing keys (one JWK each, `use: "sig"`, `alg` the family's first algorithm unless --omit-jwk-alg):
    RSA 2048     RS256 RS384 RS512   (JWK alg RS256)
    RSA 2048     PS256 PS384 PS512   (JWK alg PS256, a key of its own)
    EC P-256     ES256
    EC P-384     ES384
    Ed25519      EdDSA               (kty OKP)

Paths (<issuer> is /realms/<realm>):
    GET  <issuer>/.well-known/openid-configuration  discovery; counted; 503 while down
    GET  <issuer>/protocol/openid-connect/certs     the JWKS, `Cache-Control: public, max-age=N`; counted;
                                                    503 while down
    POST /_admin/token         {"alg", "claims", "kid", "omit_kid", "tamper", "key": "current"|"previous"}
                               -> {"token"}. Default claims iss, aud "mcpo", sub "alice", iat, exp (+300 s),
                               scope ""; `claims` overrides them and a claim given as null is removed.
                               alg is one of the above, "none" (unsigned `header.payload.`) or
                               "HS256-with-public-key" (HMAC keyed with the RSA public key's PEM: the
                               algorithm-confusion attack). `tamper` changes `sub` after signing.
    POST /_admin/rotate        {"keep_previous": bool}: new keys and kids for every family; the JWKS serves
                               them, plus the previous ones with keep_previous
    POST /_admin/down, /_admin/up
    POST /_admin/cache         {"max_age": N}
    GET  /_admin/fetches       {"discovery": n, "jwks": n}
    POST /_admin/reset_counts
    GET  /_admin/keys          the current kid per algorithm, {"RS256": kid, ..., "EdDSA": kid}
Admin answers are JSON; a bad request is 400 {"error": ...}.
"""

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ALGORITHM_FAMILY = {
    "RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
    "PS256": "rsa-pss", "PS384": "rsa-pss", "PS512": "rsa-pss",
    "ES256": "ec-p256",
    "ES384": "ec-p384",
    "EdDSA": "ed25519",
}
# A JWK carries one `alg`; a key that signs several algorithms advertises the first.
FAMILY_JWK_ALG = {"rsa": "RS256", "rsa-pss": "PS256", "ec-p256": "ES256", "ec-p384": "ES384", "ed25519": "EdDSA"}
ATTACK_ALGORITHMS = ("none", "HS256-with-public-key")


class BadRequest(Exception):
    pass


# ---- keys


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def uint_bytes(value: int, length: int = 0) -> bytes:
    """Big-endian, minimal length unless `length` is given (EC coordinates are fixed-length in a JWK)."""
    return value.to_bytes(length or max(1, (value.bit_length() + 7) // 8), "big")


def new_private_key(family):
    if family in ("rsa", "rsa-pss"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if family == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if family == "ec-p384":
        return ec.generate_private_key(ec.SECP384R1())
    return ed25519.Ed25519PrivateKey.generate()


def public_jwk(family, private_key, kid, with_alg):
    public = private_key.public_key()
    if family in ("rsa", "rsa-pss"):
        numbers = public.public_numbers()
        material = {"kty": "RSA", "n": b64url(uint_bytes(numbers.n)), "e": b64url(uint_bytes(numbers.e))}
    elif family in ("ec-p256", "ec-p384"):
        numbers = public.public_numbers()
        size = (public.curve.key_size + 7) // 8
        material = {
            "kty": "EC",
            "crv": "P-256" if family == "ec-p256" else "P-384",
            "x": b64url(uint_bytes(numbers.x, size)),
            "y": b64url(uint_bytes(numbers.y, size)),
        }
    else:
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        material = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
    jwk = {"kty": material.pop("kty"), "kid": kid, "use": "sig"}
    if with_alg:
        jwk["alg"] = FAMILY_JWK_ALG[family]
    return {**jwk, **material}


def new_generation(number):
    """One key per family, each with a kid that no earlier generation used."""
    return {
        family: {"key": new_private_key(family), "kid": f"{family}-{number}-{secrets.token_hex(4)}"}
        for family in FAMILY_JWK_ALG
    }


# ---- tokens


def compact(header, payload, signature: bytes) -> str:
    encode = lambda part: b64url(json.dumps(part, separators=(",", ":")).encode())  # noqa: E731
    return f"{encode(header)}.{encode(payload)}.{b64url(signature)}"


def token_claims(issuer, overrides):
    now = int(time.time())
    claims = {"iss": issuer, "aud": "mcpo", "sub": "alice", "iat": now, "exp": now + 300, "scope": ""}
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign(alg, claims, generation, kid):
    """A compact JWT; `kid` None leaves it out of the header."""
    headers = {"kid": kid} if kid is not None else None
    if alg == "none":
        # PyJWT would write the same thing, but spelling it out keeps the empty signature obvious.
        header = {"alg": "none", "typ": "JWT", **(headers or {})}
        return compact(header, claims, b"")
    if alg == "HS256-with-public-key":
        # PyJWT refuses an asymmetric key's PEM as an HMAC secret, which is the point of the attack.
        pem = generation["rsa"]["key"].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        header = {"alg": "HS256", "typ": "JWT", **(headers or {})}
        unsigned = compact(header, claims, b"").rstrip(".")
        return f"{unsigned}.{b64url(hmac.new(pem, unsigned.encode(), hashlib.sha256).digest())}"
    key = generation[ALGORITHM_FAMILY[alg]]["key"]
    # PyJWT's JWS layer rather than jwt.encode, which refuses some malformed claims (a non-string `iss`)
    # that tests must be able to mint.
    payload = json.dumps(claims, separators=(",", ":")).encode()
    return jwt.api_jws.encode(payload, key, algorithm=alg, headers=headers)


def tampered(token: str) -> str:
    """The same header and signature over a payload whose `sub` changed."""
    header, payload, signature = token.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["sub"] = "mallory" if claims.get("sub") != "mallory" else "eve"
    return f"{header}.{b64url(json.dumps(claims, separators=(',', ':')).encode())}.{signature}"


# ---- state


class IdentityProvider:
    """Everything the admin hooks change, behind one lock (the server answers on many threads)."""

    def __init__(self, issuer, max_age, jwk_alg):
        self.lock = threading.Lock()
        self.issuer = issuer
        self.max_age = max_age
        self.jwk_alg = jwk_alg
        self.up = True
        self.fetches = {"discovery": 0, "jwks": 0}
        self.rotations = 0
        self.current = new_generation(0)
        self.previous = None
        self.serve_previous = False

    def count_fetch(self, kind):
        """Counts one fetch of `kind`; true while the provider is up (a 503 is a fetch too)."""
        with self.lock:
            self.fetches[kind] += 1
            return self.up

    def discovery(self):
        base = self.issuer + "/protocol/openid-connect"
        return {
            "issuer": self.issuer,
            "jwks_uri": base + "/certs",
            "authorization_endpoint": base + "/auth",
            "token_endpoint": base + "/token",
            "scopes_supported": ["openid", "profile", "email", "mcp", "admin"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHM_FAMILY),
        }

    def jwks(self):
        with self.lock:
            generations = [self.current] + ([self.previous] if self.serve_previous and self.previous else [])
            max_age = self.max_age
        keys = [
            public_jwk(family, entry["key"], entry["kid"], self.jwk_alg)
            for generation in generations
            for family, entry in generation.items()
        ]
        return {"keys": keys}, max_age

    def rotate(self, keep_previous):
        with self.lock:
            self.rotations += 1
            self.previous, self.current = self.current, new_generation(self.rotations)
            self.serve_previous = keep_previous

    def kids(self):
        with self.lock:
            return {alg: self.current[family]["kid"] for alg, family in ALGORITHM_FAMILY.items()}

    def token(self, request):
        alg = request.get("alg", "RS256")
        if alg not in ALGORITHM_FAMILY and alg not in ATTACK_ALGORITHMS:
            raise BadRequest(f"unknown alg {alg!r}")
        overrides = request.get("claims") or {}
        if not isinstance(overrides, dict):
            raise BadRequest("claims must be an object")
        which = request.get("key", "current")
        if which not in ("current", "previous"):
            raise BadRequest(f"key must be current or previous, not {which!r}")
        with self.lock:
            generation = self.current if which == "current" else self.previous
        if generation is None:
            raise BadRequest("no previous keys: rotate first")
        # The attacks keep the RSA key's kid, so a verifier finds a key and must reject on the algorithm.
        kid = generation[ALGORITHM_FAMILY.get(alg, "rsa")]["kid"]
        if request.get("kid") is not None:
            kid = str(request["kid"])
        if request.get("omit_kid"):
            kid = None
        token = sign(alg, token_claims(self.issuer, overrides), generation, kid)
        return tampered(token) if request.get("tamper") else token


# ---- HTTP


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    @property
    def idp(self) -> IdentityProvider:
        return self.server.idp

    @property
    def route(self):
        return urlsplit(self.path).path

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise BadRequest("body is not JSON") from None
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        return body

    def send_json(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        issuer_path = urlsplit(self.idp.issuer).path
        if self.route == issuer_path + "/.well-known/openid-configuration":
            self.serve_discovery()
        elif self.route == issuer_path + "/protocol/openid-connect/certs":
            self.serve_jwks()
        elif self.route == "/_admin/fetches":
            with self.idp.lock:
                counts = dict(self.idp.fetches)
            self.send_json(200, counts)
        elif self.route == "/_admin/keys":
            self.send_json(200, self.idp.kids())
        else:
            self.send_json(404, {"error": "not found"})

    def serve_discovery(self):
        if not self.idp.count_fetch("discovery"):
            self.send_json(503, {"error": "temporarily_unavailable"})
            return
        self.send_json(200, self.idp.discovery())

    def serve_jwks(self):
        if not self.idp.count_fetch("jwks"):
            self.send_json(503, {"error": "temporarily_unavailable"})
            return
        body, max_age = self.idp.jwks()
        self.send_json(200, body, {"Cache-Control": f"public, max-age={max_age}"})

    def do_POST(self):
        action = ADMIN_ACTIONS.get(self.route)
        if action is None:
            self.send_json(404, {"error": "not found"})
            return
        try:
            self.send_json(200, action(self.idp, self.read_json()))
        except BadRequest as error:
            self.send_json(400, {"error": str(error)})
        except Exception as error:  # a fixture bug answers 500 with its cause instead of a dropped connection
            self.send_json(500, {"error": f"{type(error).__name__}: {error}"})


def set_up(idp, up):
    with idp.lock:
        idp.up = up
    return {"up": up}


def set_cache(idp, body):
    max_age = body.get("max_age")
    if not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0:
        raise BadRequest("max_age must be a non-negative integer")
    with idp.lock:
        idp.max_age = max_age
    return {"max_age": max_age}


def reset_counts(idp):
    with idp.lock:
        idp.fetches = {"discovery": 0, "jwks": 0}
        return dict(idp.fetches)


def rotate(idp, body):
    idp.rotate(bool(body.get("keep_previous")))
    return idp.kids()


ADMIN_ACTIONS = {
    "/_admin/token": lambda idp, body: {"token": idp.token(body)},
    "/_admin/rotate": rotate,
    "/_admin/down": lambda idp, body: set_up(idp, False),
    "/_admin/up": lambda idp, body: set_up(idp, True),
    "/_admin/cache": set_cache,
    "/_admin/reset_counts": lambda idp, body: reset_counts(idp),
}


def main():
    parser = argparse.ArgumentParser(description="OpenID-Connect-style identity provider for JWT tests")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--realm", default="main", help="the issuer is http://127.0.0.1:<port>/realms/<realm>")
    parser.add_argument("--max-age", type=int, default=3600, help="JWKS Cache-Control max-age, seconds")
    parser.add_argument("--omit-jwk-alg", action="store_true", help="JWKs without an `alg` member")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    issuer = f"http://127.0.0.1:{port}/realms/{args.realm}"
    server.idp = IdentityProvider(issuer, args.max_age, jwk_alg=not args.omit_jwk_alg)
    print(json.dumps({"port": port, "issuer": issuer}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
