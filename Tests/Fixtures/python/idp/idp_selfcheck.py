"""Self-check of idp_fixture.py: starts it, verifies every token it mints with PyJWT against its own JWKS, and
exercises each admin hook. Exits 0 when everything holds, else prints each failed check and exits 1.

    .venv-mcp1/bin/python Tests/Fixtures/python/idp/idp_selfcheck.py
"""

import hashlib
import hmac
import http.client
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idp_fixture.py")
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
FAILURES = []


def check(name, condition, detail=""):
    if not condition:
        FAILURES.append(f"{name}: {detail}" if detail else name)
    return condition


# ---- the fixture process


class Fixture:
    def __init__(self, *flags):
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, FIXTURE, "--port", "0", *flags], stdout=subprocess.PIPE, stderr=self.stderr)
        try:
            started = json.loads(self.first_line(deadline=time.monotonic() + 60))
            self.port, self.issuer = started["port"], started["issuer"]
            self.origin = f"http://127.0.0.1:{self.port}"
            self.wait_until_answering(deadline=time.monotonic() + 30)
        except BaseException:
            self.stop()
            raise

    def first_line(self, deadline):
        """The JSON line, read without blocking past `deadline` (a hung start must fail, not hang)."""
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(timeout=remaining):
                raise RuntimeError("no start line: " + self.stderr_text())
            byte = os.read(self.process.stdout.fileno(), 1)
            if not byte:
                raise RuntimeError("fixture exited: " + self.stderr_text())
            line += byte
        return line.decode()

    def wait_until_answering(self, deadline):
        while True:
            try:
                if self.get("/_admin/fetches")[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("fixture does not answer HTTP: " + self.stderr_text())
            # A poll interval, not synchronisation: the loop ends on the first HTTP answer.
            time.sleep(0.05)

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-2000:]

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.stderr.close()

    # ---- HTTP

    def request(self, method, path, body=None):
        url = path if path.startswith("http") else self.origin + path
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read() or b"null")

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None):
        return self.request("POST", path, body if body is not None else {})

    def token(self, **request):
        status, _, body = self.post("/_admin/token", request)
        if status != 200:
            raise RuntimeError(f"/_admin/token {request}: {status} {body}")
        return body["token"]

    def jwks(self):
        status, headers, body = self.get(self.issuer + "/protocol/openid-connect/certs")
        return status, headers, body

    def fetches(self):
        return self.get("/_admin/fetches")[2]


# ---- verification


def jwk_by_kid(jwks, kid):
    return next((key for key in jwks["keys"] if key["kid"] == kid), None)


def verify(token, jwks, issuer, audience="mcpo"):
    """Verifies as a relying party would: the header's kid picks the JWK, the header's alg must be one the
    JWK's key type can do (a JWK names one `alg`, but the RSA keys sign three algorithms each)."""
    header = jwt.get_unverified_header(token)
    jwk = jwk_by_kid(jwks, header.get("kid"))
    if jwk is None:
        raise jwt.InvalidKeyError(f"no JWK with kid {header.get('kid')!r}")
    key = jwt.PyJWK({**jwk, "alg": header["alg"]})
    return jwt.decode(token, key, algorithms=[header["alg"]], audience=audience, issuer=issuer)


def rejected(token, jwks, issuer):
    """The exception class name when verification fails, else None."""
    try:
        verify(token, jwks, issuer)
    except jwt.PyJWTError as error:
        return type(error).__name__
    return None


def unverified_claims(token):
    return jwt.decode(token, options={"verify_signature": False})


# ---- checks


def check_discovery(idp):
    status, _, discovery = idp.get("/realms/main/.well-known/openid-configuration")
    check("discovery answers 200", status == 200, status)
    check("discovery issuer", discovery.get("issuer") == idp.issuer, discovery.get("issuer"))
    check("discovery jwks_uri", discovery.get("jwks_uri") == idp.issuer + "/protocol/openid-connect/certs",
          discovery.get("jwks_uri"))
    for field in ("authorization_endpoint", "token_endpoint", "scopes_supported"):
        check(f"discovery has {field}", field in discovery)
    check("discovery lists every signing algorithm",
          discovery.get("id_token_signing_alg_values_supported") == SIGNING_ALGORITHMS,
          discovery.get("id_token_signing_alg_values_supported"))
    return discovery


def check_jwks(idp):
    status, headers, jwks = idp.jwks()
    check("JWKS answers 200", status == 200, status)
    check("JWKS Cache-Control default", headers.get("Cache-Control") == "public, max-age=3600",
          headers.get("Cache-Control"))
    kids = idp.get("/_admin/keys")[2]
    check("/_admin/keys names every algorithm", sorted(kids) == sorted(SIGNING_ALGORITHMS), kids)
    check("JWKS holds five keys", len(jwks["keys"]) == 5, len(jwks["keys"]))
    expected = {
        "RS256": {"kty": "RSA", "alg": "RS256"}, "PS256": {"kty": "RSA", "alg": "PS256"},
        "ES256": {"kty": "EC", "crv": "P-256", "alg": "ES256"}, "ES384": {"kty": "EC", "crv": "P-384", "alg": "ES384"},
        "EdDSA": {"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA"},
    }
    for alg, members in expected.items():
        jwk = jwk_by_kid(jwks, kids.get(alg))
        if not check(f"JWKS has the {alg} key", jwk is not None, kids.get(alg)):
            continue
        check(f"{alg} JWK members", all(jwk.get(k) == v for k, v in members.items()) and jwk.get("use") == "sig",
              jwk)
        required = {"RSA": ("n", "e"), "EC": ("x", "y"), "OKP": ("x",)}[jwk["kty"]]
        check(f"{alg} JWK has {required}", all(jwk.get(k) for k in required), jwk)
        check(f"{alg} JWK has no private part", "d" not in jwk and "p" not in jwk)
    check("RS and PS keys differ", kids.get("RS256") != kids.get("PS256"))
    check("RS256/384/512 share a kid", kids.get("RS256") == kids.get("RS384") == kids.get("RS512"))
    return jwks, kids


def check_signatures(idp, jwks, kids):
    for alg in SIGNING_ALGORITHMS:
        token = idp.token(alg=alg)
        header = jwt.get_unverified_header(token)
        check(f"{alg} header", header.get("alg") == alg and header.get("kid") == kids[alg], header)
        try:
            claims = verify(token, jwks, idp.issuer)
        except jwt.PyJWTError as error:
            check(f"{alg} token verifies", False, repr(error))
            continue
        check(f"{alg} default claims",
              claims["iss"] == idp.issuer and claims["aud"] == "mcpo" and claims["sub"] == "alice"
              and claims["scope"] == "" and claims["exp"] - claims["iat"] == 300
              and abs(claims["iat"] - time.time()) < 60, claims)
    # A verifier that holds the JWK's own `alg` to the token accepts the algorithm each JWK names.
    for alg in ("RS256", "PS256", "ES256", "ES384", "EdDSA"):
        token = idp.token(alg=alg)
        key = jwt.PyJWK(jwk_by_kid(jwks, kids[alg]))
        try:
            jwt.decode(token, key, algorithms=[alg], audience="mcpo")
        except jwt.PyJWTError as error:
            check(f"{alg} verifies with the JWK's own alg", False, repr(error))


def check_claims(idp, jwks):
    token = idp.token(claims={"sub": "bob", "scope": "mcp admin", "exp": None, "aud": ["mcpo", "other"],
                              "groups": ["a", "b"]})
    claims = verify(token, jwks, idp.issuer)
    check("claims override", claims["sub"] == "bob" and claims["scope"] == "mcp admin"
          and claims["aud"] == ["mcpo", "other"] and claims["groups"] == ["a", "b"], claims)
    check("a null claim is removed", "exp" not in claims, claims)
    odd = unverified_claims(idp.token(alg="EdDSA", claims={"iss": 42, "exp": "soon"}))
    check("malformed claims are minted as given", odd["iss"] == 42 and odd["exp"] == "soon", odd)
    expired = idp.token(claims={"exp": int(time.time()) - 60})
    check("an expired token is rejected", rejected(expired, jwks, idp.issuer) == "ExpiredSignatureError")


def check_attacks(idp, jwks, kids):
    tampered = idp.token(alg="ES256", tamper=True)
    check("tampered token fails verification",
          rejected(tampered, jwks, idp.issuer) == "InvalidSignatureError", rejected(tampered, jwks, idp.issuer))
    check("tampered token changed sub", unverified_claims(tampered)["sub"] != "alice", unverified_claims(tampered))
    tampered_rsa = idp.token(alg="RS256", tamper=True)
    check("tampered RS256 token fails verification", rejected(tampered_rsa, jwks, idp.issuer) is not None)

    unsigned = idp.token(alg="none")
    header = jwt.get_unverified_header(unsigned)
    check("none token is header.payload.", unsigned.count(".") == 2 and unsigned.endswith("."), unsigned)
    check("none header", header.get("alg") == "none" and header.get("kid") == kids["RS256"], header)
    key = jwt.PyJWK(jwk_by_kid(jwks, kids["RS256"]))
    try:
        jwt.decode(unsigned, key, algorithms=["RS256"], audience="mcpo")
        check("none token rejected", False, "accepted")
    except jwt.PyJWTError:
        pass

    confused = idp.token(alg="HS256-with-public-key")
    header = jwt.get_unverified_header(confused)
    check("HS256-with-public-key header", header.get("alg") == "HS256" and header.get("kid") == kids["RS256"],
          header)
    pem = key.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input, _, signature = confused.rpartition(".")
    expected = jwt.utils.base64url_encode(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()).decode()
    check("HS256 is keyed with the RSA public key's PEM", signature == expected)
    try:
        jwt.decode(confused, key, algorithms=["RS256"], audience="mcpo")
        check("HS256-with-public-key rejected", False, "accepted")
    except jwt.PyJWTError:
        pass

    unknown = idp.token(kid="no-such-kid")
    check("kid override", jwt.get_unverified_header(unknown).get("kid") == "no-such-kid")
    check("unknown kid finds no key", rejected(unknown, jwks, idp.issuer) == "InvalidKeyError")
    bare = idp.token(alg="ES384", omit_kid=True)
    check("omit_kid", "kid" not in jwt.get_unverified_header(bare), jwt.get_unverified_header(bare))
    check("omit_kid token still signed by the ES384 key",
          jwt.decode(bare, jwt.PyJWK(jwk_by_kid(jwks, kids["ES384"])), algorithms=["ES384"],
                     audience="mcpo")["sub"] == "alice")

    status, _, body = idp.post("/_admin/token", {"alg": "HS512"})
    check("unknown alg is 400", status == 400 and "error" in body, (status, body))
    status, _, body = idp.post("/_admin/token", {"key": "previous"})
    check("previous key before any rotation is 400", status == 400, (status, body))
    status, _, body = idp.post("/_admin/token", {"key": "older"})
    check("an unknown key choice is 400", status == 400, (status, body))


def check_rotation(idp, jwks, kids):
    before = idp.token(alg="ES256")
    status, _, rotated = idp.post("/_admin/rotate", {"keep_previous": False})
    new_kids = idp.get("/_admin/keys")[2]
    check("rotate answers the new kids", status == 200 and rotated == new_kids, (status, rotated))
    check("rotation changes every kid", all(new_kids[a] != kids[a] for a in SIGNING_ALGORITHMS), new_kids)
    new_jwks = idp.jwks()[2]
    check("JWKS after rotation holds only new keys",
          sorted(k["kid"] for k in new_jwks["keys"]) == sorted(set(new_kids.values())), new_jwks)
    check("an old token no longer finds its key", rejected(before, new_jwks, idp.issuer) == "InvalidKeyError")
    for alg in SIGNING_ALGORITHMS:
        if rejected(idp.token(alg=alg), new_jwks, idp.issuer):
            check(f"{alg} token verifies after rotation", False)
        previous = idp.token(alg=alg, key="previous")
        check(f"previous-key {alg} token has the old kid", jwt.get_unverified_header(previous)["kid"] == kids[alg])
        check(f"previous-key {alg} token is not in the new JWKS",
              rejected(previous, new_jwks, idp.issuer) == "InvalidKeyError")
        check(f"previous-key {alg} token verifies with the old JWKS", rejected(previous, jwks, idp.issuer) is None)

    idp.post("/_admin/rotate", {"keep_previous": True})
    kept_kids = idp.get("/_admin/keys")[2]
    kept_jwks = idp.jwks()[2]
    check("keep_previous serves ten keys", len(kept_jwks["keys"]) == 10, len(kept_jwks["keys"]))
    check("keep_previous serves the previous kids",
          {k["kid"] for k in kept_jwks["keys"]} == set(new_kids.values()) | set(kept_kids.values()))
    for alg in SIGNING_ALGORITHMS:
        check(f"{alg} current token verifies with keep_previous",
              rejected(idp.token(alg=alg), kept_jwks, idp.issuer) is None)
        check(f"{alg} previous-key token verifies with keep_previous",
              rejected(idp.token(alg=alg, key="previous"), kept_jwks, idp.issuer) is None)
    check("the generation before the previous is gone", rejected(before, kept_jwks, idp.issuer) == "InvalidKeyError")


def check_down_up_and_counts(idp):
    discovery_path = "/realms/main/.well-known/openid-configuration"
    status, _, counts = idp.post("/_admin/reset_counts")
    check("reset_counts", status == 200 and idp.fetches() == {"discovery": 0, "jwks": 0}, idp.fetches())
    idp.get(discovery_path)
    idp.jwks()
    idp.jwks()
    check("fetches counted", idp.fetches() == {"discovery": 1, "jwks": 2}, idp.fetches())
    idp.get("/_admin/keys")
    idp.post("/_admin/token", {})
    check("admin calls are not counted", idp.fetches() == {"discovery": 1, "jwks": 2}, idp.fetches())

    check("down answers 200", idp.post("/_admin/down")[0] == 200)
    check("discovery 503 while down", idp.get(discovery_path)[0] == 503)
    check("JWKS 503 while down", idp.jwks()[0] == 503)
    check("admin works while down", idp.get("/_admin/keys")[0] == 200 and idp.post("/_admin/token", {})[0] == 200)
    check("503s are counted", idp.fetches() == {"discovery": 2, "jwks": 3}, idp.fetches())
    check("up answers 200", idp.post("/_admin/up")[0] == 200)
    check("discovery 200 after up", idp.get(discovery_path)[0] == 200)
    check("JWKS 200 after up", idp.jwks()[0] == 200)
    check("counts after up", idp.fetches() == {"discovery": 3, "jwks": 4}, idp.fetches())


def check_cache_and_http(idp):
    status, _, body = idp.post("/_admin/cache", {"max_age": 7})
    check("cache answers 200", status == 200, (status, body))
    check("JWKS Cache-Control follows /_admin/cache",
          idp.jwks()[1].get("Cache-Control") == "public, max-age=7", idp.jwks()[1].get("Cache-Control"))
    check("max_age must be an integer", idp.post("/_admin/cache", {"max_age": "x"})[0] == 400)
    check("a body that is not JSON is 400", post_raw(idp, "/_admin/rotate", b"{nope")[0] == 400)
    check("unknown GET is 404", idp.get("/nowhere")[0] == 404)
    check("unknown POST is 404", idp.post("/_admin/nowhere")[0] == 404)
    check("discovery under another realm is 404", idp.get("/realms/other/.well-known/openid-configuration")[0] == 404)
    # HTTP/1.1: two answers on one connection prove every answer is framed by its Content-Length.
    connection = http.client.HTTPConnection("127.0.0.1", idp.port, timeout=30)
    try:
        for _ in range(2):
            connection.request("GET", "/_admin/keys")
            response = connection.getresponse()
            check("keep-alive answer", response.status == 200 and json.loads(response.read()), response.status)
    finally:
        connection.close()


def post_raw(idp, path, data):
    connection = http.client.HTTPConnection("127.0.0.1", idp.port, timeout=30)
    try:
        connection.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def check_flags():
    idp = Fixture("--realm", "tenant-7", "--max-age", "60", "--omit-jwk-alg")
    try:
        check("--realm sets the issuer", idp.issuer == f"http://127.0.0.1:{idp.port}/realms/tenant-7", idp.issuer)
        status, _, discovery = idp.get("/realms/tenant-7/.well-known/openid-configuration")
        check("--realm discovery", status == 200 and discovery["issuer"] == idp.issuer, (status, discovery))
        status, headers, jwks = idp.jwks()
        check("--max-age", headers.get("Cache-Control") == "public, max-age=60", headers.get("Cache-Control"))
        check("--omit-jwk-alg", all("alg" not in key for key in jwks["keys"]), jwks)
        claims = verify(idp.token(alg="PS384"), jwks, idp.issuer)
        check("--realm token iss", claims["iss"] == idp.issuer, claims)
    finally:
        idp.stop()


def main():
    try:
        idp = Fixture()
    except Exception as error:
        print(f"idp_selfcheck: the fixture did not start: {error}")
        return 1
    try:
        check("start line", idp.issuer == f"http://127.0.0.1:{idp.port}/realms/main", idp.issuer)
        check("no fetches at start", idp.fetches() == {"discovery": 0, "jwks": 0}, idp.fetches())
        check_discovery(idp)
        jwks, kids = check_jwks(idp)
        check_signatures(idp, jwks, kids)
        check_claims(idp, jwks)
        check_attacks(idp, jwks, kids)
        check_rotation(idp, jwks, kids)
        check_down_up_and_counts(idp)
        check_cache_and_http(idp)
    except Exception as error:  # a crash is one more failure, reported with the others
        check("self-check ran to the end", False, f"{type(error).__name__}: {error}")
    finally:
        idp.stop()
    try:
        check_flags()
    except Exception as error:
        check("flags self-check ran to the end", False, f"{type(error).__name__}: {error}")
    if FAILURES:
        print(f"idp_selfcheck: {len(FAILURES)} check(s) failed:")
        for failure in FAILURES:
            print("  - " + failure)
        return 1
    print(f"idp_selfcheck: all checks passed ({sys.executable}, PyJWT {jwt.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
