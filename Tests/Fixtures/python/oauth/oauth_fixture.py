"""OAuth 2.1 authorization server + OAuth-protected MCP resource server, for swift-mcpo's OAuth tests.

    .venv-mcp1/bin/python Tests/Fixtures/python/oauth/oauth_fixture.py [options]

Both servers run in this one process on free ports of 127.0.0.1 (shared in-memory state, so a revocation at
the AS is seen by the RS at once). The first line on stdout is JSON: {"as": <port>, "rs": <port>,
"issuer": ..., "mcp": <url of the MCP endpoint>, "resource": ...}.

Authorization server (AS), written for the tests on Starlette:
  RFC 8414 metadata (optionally under an issuer path, or only as OpenID configuration), RFC 7591 dynamic
  client registration, authorization code with PKCE S256 (mandatory), RFC 8707 `resource` bound to codes
  and tokens, RFC 9207 `iss` in the authorization response, refresh tokens with rotation, RFC 7009
  revocation, RFC 8628 device authorization grant (with `slow_down`), client credentials, token endpoint
  client authentication client_secret_basic / client_secret_post / none as registered.
  The "browser" logs in as `login_hint` (query) or the `as_user` cookie, else "alice", and is redirected
  straight back (no consent page).

Resource server (RS): a FastMCP streamable-HTTP server (JSON responses) behind a bearer-token check with
  RFC 9728 protected resource metadata (path-suffixed and root well-known URIs) and RFC 6750 challenges.
  `/mcp` needs the scope `mcp`; `/mcp-admin` (the same server) needs `mcp admin` (403 insufficient_scope
  otherwise). The tool `whoami` answers the token's subject and scopes.

Test hooks: GET /_log (every request either server saw, in order, with bodies; secrets included, it is a
test fixture), POST /_admin/revoke_all, GET /device?user_code=...&login_hint=... (the user approving a
device code), POST /_admin/expire_all (every access token expires now).
"""

import argparse
import asyncio
import base64
import hashlib
import itertools
import json
import secrets
import socket
import sys
import time
from urllib.parse import urlencode

import uvicorn
from mcp.server.fastmcp import Context, FastMCP
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

parser = argparse.ArgumentParser(description="OAuth AS + protected MCP RS fixture")
parser.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime, seconds")
parser.add_argument("--no-refresh-tokens", action="store_true", help="never issue refresh tokens")
parser.add_argument("--no-pkce", action="store_true", help="omit code_challenge_methods_supported")
parser.add_argument("--plain-pkce-only", action="store_true", help="advertise only the plain PKCE method")
parser.add_argument("--issuer-mismatch", action="store_true", help="metadata names another issuer")
parser.add_argument("--iss-response", choices=["correct", "wrong", "absent"], default="correct")
parser.add_argument("--no-iss-supported", action="store_true", help="do not advertise iss support")
parser.add_argument("--as-path", default="", help="issuer path, e.g. /tenant1")
parser.add_argument("--oidc-only", action="store_true", help="serve metadata only as openid-configuration")
parser.add_argument("--no-resource-metadata-header", action="store_true", help="401 without resource_metadata")
parser.add_argument("--no-challenge-scope", action="store_true", help="401 without a scope parameter")
parser.add_argument("--prm-root-only", action="store_true", help="serve PRM only at the root well-known URI")
parser.add_argument("--prm-resource", default=None, help="override the PRM resource (mismatch tests)")
parser.add_argument("--no-dcr", action="store_true", help="no registration_endpoint")
parser.add_argument("--cimd", action="store_true", help="advertise client_id_metadata_document_supported")
parser.add_argument("--no-device", action="store_true", help="no device_authorization_endpoint")
parser.add_argument("--device-interval", type=int, default=1)
parser.add_argument("--device-slow-down", type=int, default=0, help="answer slow_down this many times first")
parser.add_argument("--preregistered", action="append", default=[],
                    help="client_id:secret:auth_method (auth_method client_secret_basic|client_secret_post|none)")
parser.add_argument("--deny", action="store_true", help="the user denies: error=access_denied")
parser.add_argument("--auth-methods", default="client_secret_basic,client_secret_post,none")
args = parser.parse_args()


def bound_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


as_sock, rs_sock = bound_socket(), bound_socket()
AS_ORIGIN = f"http://127.0.0.1:{as_sock.getsockname()[1]}"
RS_ORIGIN = f"http://127.0.0.1:{rs_sock.getsockname()[1]}"
ISSUER = AS_ORIGIN + args.as_path
RESOURCE = RS_ORIGIN + "/mcp"
PRM_URL = RS_ORIGIN + "/.well-known/oauth-protected-resource/mcp"
if args.prm_root_only:
    PRM_URL = RS_ORIGIN + "/.well-known/oauth-protected-resource"

LOG = []
counter = itertools.count(1)
clients = {}  # client_id -> metadata (incl. client_secret, token_endpoint_auth_method)
codes = {}  # code -> grant info
access_tokens = {}  # token -> {client_id, sub, scope, resource, expires_at, grant}
refresh_tokens = {}  # token -> {client_id, sub, scope, resource, grant}
revoked_grants = set()
devices = {}  # device_code -> {user_code, client_id, scope, resource, approved_sub, expires_at, slow_downs}

for spec in args.preregistered:
    cid, secret, method = (spec.split(":") + ["client_secret_basic"])[:3]
    clients[cid] = {"client_id": cid, "client_secret": secret or None, "token_endpoint_auth_method": method,
                    "redirect_uris": [], "grant_types": ["authorization_code", "refresh_token", "client_credentials",
                                                         "urn:ietf:params:oauth:grant-type:device_code"],
                    "preregistered": True}


def log(server, request, **data):
    entry = {"server": server, "method": request.method, "path": request.url.path,
             "query": dict(request.query_params), **data}
    auth = request.headers.get("authorization")
    if auth:
        entry["authorization"] = auth
    LOG.append(entry)


def oauth_error(error, description=None, status=400):
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def metadata():
    body = {
        "issuer": "http://evil.example" if args.issuer_mismatch else ISSUER,
        "authorization_endpoint": ISSUER + "/authorize",
        "token_endpoint": ISSUER + "/token",
        "revocation_endpoint": ISSUER + "/revoke",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                  "urn:ietf:params:oauth:grant-type:device_code"],
        "token_endpoint_auth_methods_supported": args.auth_methods.split(","),
        "revocation_endpoint_auth_methods_supported": args.auth_methods.split(","),
        "scopes_supported": ["mcp", "admin", "offline_access"],
    }
    if not args.no_pkce:
        body["code_challenge_methods_supported"] = ["plain"] if args.plain_pkce_only else ["S256"]
    if not args.no_iss_supported:
        body["authorization_response_iss_parameter_supported"] = True
    if not args.no_dcr:
        body["registration_endpoint"] = ISSUER + "/register"
    if not args.no_device:
        body["device_authorization_endpoint"] = ISSUER + "/device_authorization"
    if args.cimd:
        body["client_id_metadata_document_supported"] = True
    return body


async def as_metadata(request):
    log("as", request)
    return JSONResponse(metadata())


async def as_not_found(request):
    log("as", request)
    return JSONResponse({"error": "not_found"}, status_code=404)


async def register(request):
    body = await request.json()
    log("as", request, json=body)
    if not isinstance(body, dict):
        return oauth_error("invalid_client_metadata", "not an object")
    grants = body.get("grant_types") or ["authorization_code"]
    if "authorization_code" in grants and not body.get("redirect_uris"):
        return oauth_error("invalid_redirect_uri", "redirect_uris required")
    method = body.get("token_endpoint_auth_method", "client_secret_basic")
    if method not in args.auth_methods.split(","):
        return oauth_error("invalid_client_metadata", f"unsupported token_endpoint_auth_method {method}")
    n = next(counter)
    info = {**body, "client_id": f"client-{n}", "client_id_issued_at": int(time.time()),
            "token_endpoint_auth_method": method, "grant_types": grants}
    if method != "none":
        info["client_secret"] = f"secret-{n}"
        info["client_secret_expires_at"] = 0
    clients[info["client_id"]] = info
    return JSONResponse(info, status_code=201)


def redirect_with(redirect_uri, params):
    if args.iss_response == "correct":
        params["iss"] = ISSUER
    elif args.iss_response == "wrong":
        params["iss"] = "http://evil.example"
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)


async def authorize(request):
    q = dict(request.query_params)
    log("as", request)
    client = clients.get(q.get("client_id", ""))
    if client is None:
        return HTMLResponse("<h1>unknown client</h1>", status_code=400)
    redirect_uri = q.get("redirect_uri", "")
    if redirect_uri not in (client.get("redirect_uris") or []):
        return HTMLResponse("<h1>redirect_uri not registered</h1>", status_code=400)
    state = q.get("state")
    params = {} if state is None else {"state": state}
    if q.get("response_type") != "code":
        return redirect_with(redirect_uri, {**params, "error": "unsupported_response_type"})
    if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
        return redirect_with(redirect_uri, {**params, "error": "invalid_request",
                                            "error_description": "PKCE S256 required"})
    if args.deny:
        return redirect_with(redirect_uri, {**params, "error": "access_denied",
                                            "error_description": "The user said no"})
    sub = q.get("login_hint") or request.cookies.get("as_user") or "alice"
    code = f"code-{next(counter)}-{secrets.token_urlsafe(8)}"
    codes[code] = {"client_id": client["client_id"], "redirect_uri": redirect_uri,
                   "challenge": q["code_challenge"], "scope": q.get("scope", ""), "resource": q.get("resource"),
                   "sub": sub, "expires_at": time.time() + 120}
    return redirect_with(redirect_uri, {"code": code, **params})


def authenticate_client(request, form):
    """The client per its registered token_endpoint_auth_method, or an error response."""
    header = request.headers.get("authorization", "")
    cid, secret, used = None, None, "none"
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:]).decode()
            from urllib.parse import unquote_plus
            cid, secret = [unquote_plus(p) for p in raw.split(":", 1)]
            used = "client_secret_basic"
        except Exception:
            return None, oauth_error("invalid_client", "bad basic credentials", 401)
    elif "client_secret" in form:
        cid, secret, used = form.get("client_id"), form.get("client_secret"), "client_secret_post"
    else:
        cid = form.get("client_id")
    client = clients.get(cid or "")
    if client is None:
        return None, oauth_error("invalid_client", "unknown client", 401)
    expected = client.get("token_endpoint_auth_method", "client_secret_basic")
    if used != expected:
        return None, oauth_error("invalid_client", f"expected {expected}, got {used}", 401)
    if expected != "none" and secret != client.get("client_secret"):
        return None, oauth_error("invalid_client", "wrong secret", 401)
    return client, None


def issue(client_id, sub, scope, resource, with_refresh=True, grant=None):
    n = next(counter)
    grant = grant or f"grant-{n}"
    access = f"at-{n}-{secrets.token_urlsafe(12)}"
    access_tokens[access] = {"client_id": client_id, "sub": sub, "scope": scope, "resource": resource,
                             "expires_at": time.time() + args.token_lifetime, "grant": grant}
    body = {"access_token": access, "token_type": "Bearer", "expires_in": args.token_lifetime, "scope": scope}
    if with_refresh and not args.no_refresh_tokens:
        refresh = f"rt-{n}-{secrets.token_urlsafe(12)}"
        refresh_tokens[refresh] = {"client_id": client_id, "sub": sub, "scope": scope, "resource": resource,
                                   "grant": grant}
        body["refresh_token"] = refresh
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def token(request):
    form = dict(await request.form())
    log("as", request, form=form)
    client, failure = authenticate_client(request, form)
    if failure:
        return failure
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        info = codes.pop(form.get("code", ""), None)
        if info is None or info["expires_at"] < time.time() or info["client_id"] != client["client_id"]:
            return oauth_error("invalid_grant", "unknown or used code")
        if form.get("redirect_uri") != info["redirect_uri"]:
            return oauth_error("invalid_grant", "redirect_uri mismatch")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != info["challenge"]:
            return oauth_error("invalid_grant", "PKCE verification failed")
        if form.get("resource") != info["resource"]:
            return oauth_error("invalid_target", "resource differs from the authorization request")
        return issue(client["client_id"], info["sub"], info["scope"], info["resource"])
    if grant_type == "refresh_token":
        info = refresh_tokens.pop(form.get("refresh_token", ""), None)  # rotation: single use
        if info is None or info["grant"] in revoked_grants or info["client_id"] != client["client_id"]:
            return oauth_error("invalid_grant", "refresh token invalid, expired or revoked")
        resource = form.get("resource", info["resource"])
        if resource != info["resource"]:
            return oauth_error("invalid_target", "resource differs")
        scope = form.get("scope") or info["scope"]
        return issue(client["client_id"], info["sub"], scope, resource, grant=info["grant"])
    if grant_type == "client_credentials":
        if client.get("token_endpoint_auth_method") == "none":
            return oauth_error("unauthorized_client", "public clients cannot use client_credentials")
        return issue(client["client_id"], client["client_id"], form.get("scope", ""), form.get("resource"),
                     with_refresh=False)
    if grant_type == "urn:ietf:params:oauth:grant-type:device_code":
        info = devices.get(form.get("device_code", ""))
        if info is None or info["client_id"] != client["client_id"]:
            return oauth_error("invalid_grant", "unknown device code")
        if info["expires_at"] < time.time():
            return oauth_error("expired_token")
        if info["slow_downs"] > 0:
            info["slow_downs"] -= 1
            return oauth_error("slow_down")
        if info.get("denied"):
            return oauth_error("access_denied")
        if info["approved_sub"] is None:
            return oauth_error("authorization_pending")
        devices.pop(form["device_code"])
        return issue(client["client_id"], info["approved_sub"], info["scope"], info["resource"])
    return oauth_error("unsupported_grant_type")


async def revoke(request):
    form = dict(await request.form())
    log("as", request, form=form)
    client, failure = authenticate_client(request, form)
    if failure:
        return failure
    value = form.get("token", "")
    info = access_tokens.get(value) or refresh_tokens.get(value)
    if info and info["client_id"] == client["client_id"]:
        revoked_grants.add(info["grant"])
    return Response(status_code=200)


async def device_authorization(request):
    form = dict(await request.form())
    log("as", request, form=form)
    client, failure = authenticate_client(request, form)
    if failure:
        return failure
    device_code = "dc-" + secrets.token_urlsafe(16)
    user_code = f"{secrets.randbelow(10000):04d}-{secrets.randbelow(10000):04d}"
    devices[device_code] = {"user_code": user_code, "client_id": client["client_id"],
                            "scope": form.get("scope", ""), "resource": form.get("resource"),
                            "approved_sub": None, "expires_at": time.time() + 600,
                            "slow_downs": args.device_slow_down}
    return JSONResponse({"device_code": device_code, "user_code": user_code,
                         "verification_uri": ISSUER + "/device",
                         "verification_uri_complete": ISSUER + "/device?" + urlencode({"user_code": user_code}),
                         "expires_in": 600, "interval": args.device_interval})


async def device_page(request):
    log("as", request)
    user_code = request.query_params.get("user_code")
    for info in devices.values():
        if info["user_code"] == user_code:
            if request.query_params.get("deny"):
                info["denied"] = True
            else:
                info["approved_sub"] = request.query_params.get("login_hint") or "alice"
            return HTMLResponse("<h1>Device approved</h1>")
    return HTMLResponse("<h1>Unknown code</h1>", status_code=400)


async def get_log(request):
    return JSONResponse(LOG)


async def revoke_all(request):
    for info in list(access_tokens.values()) + list(refresh_tokens.values()):
        revoked_grants.add(info["grant"])
    return JSONResponse({"revoked": len(revoked_grants)})


async def expire_all(request):
    for info in access_tokens.values():
        info["expires_at"] = 0
    return JSONResponse({"expired": len(access_tokens)})


meta_path = "/.well-known/openid-configuration" if args.oidc_only else "/.well-known/oauth-authorization-server"
if args.as_path:
    # RFC 8414 path insertion (OIDC: also path appending, the third candidate).
    meta_routes = [Route(meta_path + args.as_path, as_metadata)]
else:
    meta_routes = [Route(meta_path, as_metadata)]
as_app = Starlette(routes=meta_routes + [
    Route("/_log", get_log),
    Route("/_admin/revoke_all", revoke_all, methods=["POST"]),
    Route("/_admin/expire_all", expire_all, methods=["POST"]),
    Route(args.as_path + "/register", register, methods=["POST"]),
    Route(args.as_path + "/authorize", authorize),
    Route(args.as_path + "/token", token, methods=["POST"]),
    Route(args.as_path + "/revoke", revoke, methods=["POST"]),
    Route(args.as_path + "/device_authorization", device_authorization, methods=["POST"]),
    Route(args.as_path + "/device", device_page),
    Route("/{rest:path}", as_not_found, methods=["GET", "POST"]),
])

# ---------------------------------------------------------------------------------------------------------
# Resource server

mcp = FastMCP("oauth-fixture", instructions="OAuth-protected fixture server", host="127.0.0.1",
              json_response=True, log_level="WARNING")


@mcp.tool()
def whoami(ctx: Context) -> str:
    """The subject and scopes of the access token this call was made with."""
    scope = ctx.request_context.request.scope
    return json.dumps({"sub": scope.get("oauth_sub"), "scope": scope.get("oauth_scope"),
                       "client_id": scope.get("oauth_client_id")})


mcp_app = mcp.streamable_http_app()


def challenge(error=None, description=None, scope=None):
    parts = []
    if error:
        parts.append(f'error="{error}"')
    if description:
        parts.append(f'error_description="{description}"')
    if scope and not args.no_challenge_scope:
        parts.append(f'scope="{scope}"')
    if not args.no_resource_metadata_header:
        parts.append(f'resource_metadata="{PRM_URL}"')
    return "Bearer " + ", ".join(parts) if parts else "Bearer"


async def send_json(send, status, body, headers=()):
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
                + [(k.encode(), v.encode()) for k, v in headers]})
    await send({"type": "http.response.body", "body": data})


def prm_document():
    return {"resource": args.prm_resource or RESOURCE, "authorization_servers": [ISSUER],
            "scopes_supported": ["mcp"], "bearer_methods_supported": ["header"], "resource_name": "oauth-fixture"}


async def rs_app(scope, receive, send):
    if scope["type"] != "http":
        return await mcp_app(scope, receive, send)
    request = Request(scope)
    path = scope["path"]
    if path == "/.well-known/oauth-protected-resource/mcp" and not args.prm_root_only:
        log("rs", request)
        return await send_json(send, 200, prm_document())
    if path == "/.well-known/oauth-protected-resource":
        log("rs", request)
        if args.prm_root_only:
            return await send_json(send, 200, prm_document())
        return await send_json(send, 404, {"error": "not_found"})
    if path == "/_log":
        return await send_json(send, 200, LOG)
    if path not in ("/mcp", "/mcp-admin"):
        log("rs", request)
        return await send_json(send, 404, {"error": "not_found"})
    needed = ["mcp", "admin"] if path == "/mcp-admin" else ["mcp"]
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    info = access_tokens.get(token) if token else None
    if info is None or info["expires_at"] < time.time() or info["grant"] in revoked_grants \
            or info["resource"] != RESOURCE:
        why = "missing" if token is None else "invalid"
        log("rs", request, status=401, token=why)
        error = None if token is None else "invalid_token"
        return await send_json(send, 401, {"error": "invalid_token", "error_description": "Authentication required"},
                               [("www-authenticate", challenge(error, "Authentication required", " ".join(needed)))])
    granted = set(info["scope"].split())
    if not set(needed) <= granted:
        log("rs", request, status=403, token="insufficient_scope")
        return await send_json(send, 403, {"error": "insufficient_scope"},
                               [("www-authenticate", challenge("insufficient_scope", "More scope needed",
                                                               " ".join(needed)))])
    log("rs", request, status=200, token="ok", sub=info["sub"])
    scope["oauth_sub"] = info["sub"]
    scope["oauth_scope"] = info["scope"]
    scope["oauth_client_id"] = info["client_id"]
    if path == "/mcp-admin":
        scope["path"] = "/mcp"
        scope["raw_path"] = b"/mcp"
    return await mcp_app(scope, receive, send)


async def main():
    as_server = uvicorn.Server(uvicorn.Config(as_app, log_level="warning", lifespan="off"))
    rs_server = uvicorn.Server(uvicorn.Config(rs_app, log_level="warning", lifespan="on"))
    print(json.dumps({"as": as_sock.getsockname()[1], "rs": rs_sock.getsockname()[1], "issuer": ISSUER,
                      "mcp": RESOURCE, "resource": RESOURCE}), flush=True)
    await asyncio.gather(as_server.serve(sockets=[as_sock]), rs_server.serve(sockets=[rs_sock]))


if __name__ == "__main__":
    asyncio.run(main())
