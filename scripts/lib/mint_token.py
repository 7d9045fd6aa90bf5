#!/usr/bin/env python3
"""Mint an HS256 JWT for the local stack (`scripts/dev token`). Standard library only.

The signing key is the UTF-8 bytes of JWT_SECRET, taken from the environment, else from
.dev/stack.env, else from .dev/secrets.env (both written by `scripts/dev up`).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path

ROLES = ("buyer", "seller", "admin")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip().removeprefix("export ").strip()] = value
    return values


def find_secret(dev_dir: Path) -> tuple[str, str]:
    secret = os.environ.get("JWT_SECRET")
    if secret:
        return secret, "environment"
    for name in ("stack.env", "secrets.env"):
        secret = read_env_file(dev_dir / name).get("JWT_SECRET")
        if secret:
            return secret, str(dev_dir / name)
    raise SystemExit(
        "error: no JWT_SECRET: set it in the environment or run `scripts/dev up` "
        f"(looked in {dev_dir}/stack.env and {dev_dir}/secrets.env)"
    )


def mint(secret: str, sub: str, roles: list[str], email: str, ttl: int, now: int | None = None) -> str:
    iat = int(time.time()) if now is None else now
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": sub, "roles": roles, "email": email, "iat": iat, "exp": iat + ttl}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = hmac.new(secret.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(sig)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/dev token",
        description="Print an HS256 JWT signed with JWT_SECRET for the local stack.",
    )
    parser.add_argument("--sub", required=True, help="subject (user id)")
    parser.add_argument(
        "--role",
        action="append",
        choices=ROLES,
        dest="roles",
        help="role claim; repeat for several (default: buyer)",
    )
    parser.add_argument("--email", help="email claim (default: <sub>@example.test)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default: 3600)")
    parser.add_argument(
        "--dev-dir",
        default=os.environ.get("ESCROWMARKET_DEV_DIR")
        or str(Path(__file__).resolve().parents[2] / ".dev"),
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if not args.sub:
        parser.error("--sub must not be empty")
    if args.ttl <= 0:
        parser.error("--ttl must be positive")
    roles = list(dict.fromkeys(args.roles or ["buyer"]))
    secret, _source = find_secret(Path(args.dev_dir))
    print(mint(secret, args.sub, roles, args.email or f"{args.sub}@example.test", args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
