"""A stand-in Bot Framework on 127.0.0.1, speaking the real protocols over HTTP.

- OpenID metadata + JWKS publishing a test RS256 key (what inbound channel tokens are checked against),
  and `TokenSigner.mint()` to sign activities the way the Bot Connector does.
- An OAuth2 client-credentials token endpoint (what the bot's outbound token provider calls).
- The connector: POST /v3/conversations, POST /v3/conversations/{id}/activities[/{replyToId}],
  PUT /v3/conversations/{id}/activities/{activityId}. It records every call, insists on the issued
  bearer token (or, like the Agents Playground's connector, takes any: `check_tokens=False`), and can be
  told to answer the next calls of a kind with 429 (or 412, 502, 504).

Follows Microsoft's published docs: "Authentication with the Bot Connector API" and "API reference"
(learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication and
.../bot-framework-rest-connector-api-reference).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from standins.http import serve

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TokenSigner:
    """An RS256 key pair with a key id; mints Bot Framework channel tokens."""

    def __init__(self, kid: str = "test-key-1") -> None:
        self.kid = kid
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": _b64(numbers.n), "e": _b64(numbers.e), "endorsements": ["msteams"]}

    def mint(
        self,
        *,
        audience: str,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        service_url: str | None = None,
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {"iss": issuer, "aud": audience, "iat": now - 5, "nbf": now - 5, "exp": int(now + expires_in), **claims}
        if service_url:
            payload["serviceurl"] = service_url
        return jwt.encode(payload, self.private_key, algorithm="RS256", headers={"kid": self.kid})


@dataclass
class Call:
    kind: str  # create | send | reply | update | token
    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    authorization: str | None = None  # the Authorization header it came with


class FakeBotFramework:
    def __init__(self, *, app_id: str, app_password: str, signer: TokenSigner | None = None,
                 check_tokens: bool = True) -> None:
        self.app_id = app_id
        self.check_tokens = check_tokens
        self.app_password = app_password
        self.signer = signer or TokenSigner()
        self.base_url = ""  # set by the test once served
        self.calls: list[Call] = []  # calls it served
        self.refused: list[tuple[Call, int]] = []  # calls it answered with an error, and the status
        self.issued_tokens: set[str] = set()
        self.messages: dict[str, dict[str, Any]] = {}  # activity id -> latest activity body
        self.created: list[tuple[str, str]] = []  # (conversation id, first activity id) per create
        self.members: dict[str, dict[str, Any]] = {}  # 29: id -> TeamsChannelAccount, for member look-ups
        self._failures: dict[str, list[tuple[int, float | None]]] = {}
        self._hangs: dict[str, list[float]] = {}
        self._drops: dict[str, int] = {}
        self._ids = itertools.count(1_700_000_000_001)

    # --- what tests tell it ------------------------------------------------------------

    def fail_next(self, kind: str, status: int = 429, *, times: int = 1, retry_after: float | None = None) -> None:
        self._failures.setdefault(kind, []).extend([(status, retry_after)] * times)

    def hang_next(self, kind: str, *, seconds: float, times: int = 1) -> None:
        """The next `times` calls of `kind` wait `seconds` before the connector even reads them
        (a connection that stalls); a client that gave up by then has posted nothing."""
        self._hangs.setdefault(kind, []).extend([seconds] * times)

    def drop_next(self, kind: str, *, times: int = 1) -> None:
        """The next `times` calls of `kind` take effect (the message is in the conversation), then the
        connection drops before the answer: what the bot sees when a reset or a proxy cuts a call the
        connector completed. The bot cannot ask the connector what it has posted, so it cannot know."""
        self._drops[kind] = self._drops.get(kind, 0) + times

    def add_member(self, account: dict[str, Any]) -> None:
        """Someone the connector knows (id, name, aadObjectId, and as Teams gives them email and
        userPrincipalName), for GET …/members/{id}."""
        self.members[account["id"]] = account

    def of_kind(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/keys"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/v2.0/token"

    def channel_token(self, **overrides: Any) -> str:
        overrides.setdefault("audience", self.app_id)
        overrides.setdefault("service_url", self.service_url)
        return self.signer.mint(**overrides)

    # --- the server ----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/.well-known/openidconfiguration", self._openid)
        app.router.add_get("/v1/.well-known/keys", self._keys)
        app.router.add_post("/oauth2/v2.0/token", self._token)
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._reply)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        return app

    async def _openid(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": BOT_FRAMEWORK_ISSUER,
            "authorization_endpoint": f"{self.base_url}/oauth2/v2.0/authorize",
            "token_endpoint": self.token_url,
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        })

    async def _keys(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.signer.jwk()]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.calls.append(Call("token", "POST", request.path, None, None, {k: form[k] for k in form if k != "client_secret"}))
        if form.get("grant_type") != "client_credentials" or not form.get("scope"):
            return web.json_response({"error": "invalid_request"}, status=400)
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"connector-token-{uuid.uuid4().hex}"
        self.issued_tokens.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3600, "access_token": token})

    def _refuse(self, request: web.Request, kind: str) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if self.check_tokens and (not auth.startswith("Bearer ") or auth[7:] not in self.issued_tokens):
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        queued = self._failures.get(kind)
        if queued:
            status, retry_after = queued.pop(0)
            headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            return web.json_response({"error": {"code": "Throttled" if status == 429 else str(status)}},
                                     status=status, headers=headers)
        return None

    async def _record(self, request: web.Request, kind: str) -> tuple[Call, web.Response | None]:
        if self._hangs.get(kind):
            await asyncio.sleep(self._hangs[kind].pop(0))
            if request.transport is None or request.transport.is_closing():
                raise ConnectionResetError("the client gave up")  # nothing recorded, nothing posted
        body = await request.json()
        call = Call(kind, request.method, request.path, request.match_info.get("conversation"),
                    request.match_info.get("activity"), body, authorization=request.headers.get("Authorization"))
        refusal = self._refuse(request, kind)
        if refusal is None:
            self.calls.append(call)
        else:
            self.refused.append((call, refusal.status))
        return call, refusal

    def _dropped(self, request: web.Request, kind: str, answer: web.Response) -> web.Response:
        if self._drops.get(kind) and request.transport is not None:
            self._drops[kind] -= 1
            request.transport.abort()  # the effect happened; its answer never arrives
        return answer

    async def _create(self, request: web.Request) -> web.Response:
        call, refusal = await self._record(request, "create")
        if refusal is not None:
            return refusal
        activity_id = str(next(self._ids))
        channel = ((call.body.get("channelData") or {}).get("channel") or {}).get("id")
        if channel:  # a new thread in a channel
            conversation_id = f"{channel};messageid={activity_id}"
        else:  # a 1:1 chat with the member named
            member = (call.body.get("members") or [{}])[0].get("id", "unknown")
            conversation_id = f"a:personal-{member}"
        if call.body.get("activity"):
            self.messages[activity_id] = call.body["activity"]
        self.created.append((conversation_id, activity_id))
        return self._dropped(request, "create", web.json_response(
            {"id": conversation_id, "activityId": activity_id, "serviceUrl": self.service_url}, status=201))

    async def _send(self, request: web.Request) -> web.Response:
        call, refusal = await self._record(request, "send")
        if refusal is not None:
            return refusal
        activity_id = str(next(self._ids))
        self.messages[activity_id] = call.body
        return web.json_response({"id": activity_id}, status=201)

    async def _reply(self, request: web.Request) -> web.Response:
        call, refusal = await self._record(request, "reply")
        if refusal is not None:
            return refusal
        activity_id = str(next(self._ids))
        self.messages[activity_id] = call.body
        return web.json_response({"id": activity_id}, status=201)

    async def _update(self, request: web.Request) -> web.Response:
        call, refusal = await self._record(request, "update")
        if refusal is not None:
            return refusal
        if call.activity_id not in self.messages:
            return web.json_response({"error": {"code": "ActivityNotFound"}}, status=404)
        self.messages[call.activity_id] = call.body
        return web.json_response({"id": call.activity_id})

    async def _member(self, request: web.Request) -> web.Response:
        """GET /v3/conversations/{id}/members/{userId}: one member as a TeamsChannelAccount (id, name,
        aadObjectId, email, userPrincipalName, ...), found by their `29:` id or Entra object id, or 404
        MemberNotFoundInConversation
        (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/get-teams-context#get-single-member-details)."""
        call = Call("member", request.method, request.path, request.match_info["conversation"],
                    None, {"member": request.match_info["member"]})
        refusal = self._refuse(request, "member")
        if refusal is not None:
            self.refused.append((call, refusal.status))
            return refusal
        self.calls.append(call)
        wanted = request.match_info["member"]
        account = self.members.get(wanted) or next(
            (a for a in self.members.values() if a.get("aadObjectId") == wanted), None)
        if account is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation",
                                                 "message": "The member is not in this conversation."}}, status=404)
        return web.json_response({"userRole": "user", **account})

    # --- reading what the bot did ------------------------------------------------------

    def card_of(self, activity_id: str) -> dict[str, Any]:
        """The Adaptive Card currently shown by a posted activity."""
        return self.messages[activity_id]["attachments"][0]["content"]


@asynccontextmanager
async def served(fake: FakeBotFramework, *, prefix: str = "") -> AsyncIterator[FakeBotFramework]:
    """Serve `fake` on 127.0.0.1, under `prefix` (the Agents Playground serves its connector at /_connector)."""
    if prefix:
        root = web.Application()
        root.add_subapp(prefix, fake.app())
    else:
        root = fake.app()
    async with serve(root) as url:
        fake.base_url = url + prefix
        yield fake
