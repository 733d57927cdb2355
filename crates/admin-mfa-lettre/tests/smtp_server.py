#!/usr/bin/env python3
"""A real SMTP server for the admin-mfa-lettre integration tests (aiosmtpd).

Listens on 127.0.0.1 on a free port, prints ``PORT <n>`` on stdout once it accepts
connections, and writes every accepted message as ``<dir>/<seq>.json`` (the envelope, the
raw bytes as text, and the message as Python's own e-mail parser reads it, so the tests
check lettre's output with an independent decoder). It exits when its stdin closes, so it
never outlives the test that started it.

What the server answers depends on the recipient's local part:

    reject*    RCPT  -> 550 5.1.1 (permanent)
    busy*      RCPT  -> 451 4.3.0 (transient)
    hang*      RCPT  -> no answer for an hour
    badcontent DATA  -> 554 5.6.0 (permanent, after the content was sent)
    anything else    -> 250, message stored

Exit status 3 means aiosmtpd is not installed (the tests then skip).
"""

import argparse
import asyncio
import email
import email.header
import email.policy
import email.utils
import json
import os
import ssl
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError:  # pragma: no cover - reported to the test as "skip"
    print("aiosmtpd is not installed", file=sys.stderr, flush=True)
    sys.exit(3)


def local_part(address):
    return address.split("@", 1)[0].lower()


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.seq = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = local_part(address)
        if local.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 mailbox busy, try again later"
        if local.startswith("hang"):
            await asyncio.sleep(3600)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if any(local_part(a).startswith("badcontent") for a in envelope.rcpt_tos):
            return "554 5.6.0 content rejected"
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = []
        defects = [str(d) for d in message.defects]
        for part in message.walk():
            defects.extend(str(d) for d in part.defects)
            if part.is_multipart():
                continue
            parts.append(
                {
                    "content_type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "transfer_encoding": part.get("Content-Transfer-Encoding"),
                    "body": part.get_content(),
                }
            )
        # The modern parser inserts a space between adjacent encoded-words inside a display
        # name (RFC 2047 6.2 says to drop it), so also decode the name the classic way.
        legacy = email.message_from_bytes(raw, policy=email.policy.compat32)
        legacy_name, _ = email.utils.parseaddr(legacy["From"] or "")
        legacy_name = str(email.header.make_header(email.header.decode_header(legacy_name)))
        from_header = message["From"]
        from_mailboxes = list(from_header.addresses) if from_header is not None else []
        tls = session.ssl is not None or (
            server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None
        )
        auth_user = None
        if session.authenticated and isinstance(session.auth_data, LoginPassword):
            auth_user = session.auth_data.login.decode("utf-8", "replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": tls,
            "auth_user": auth_user,
            "raw": raw.decode("utf-8", "replace"),
            "header_names": [name for name, _ in message.items()],
            "subject": str(message["Subject"]) if message["Subject"] is not None else None,
            "from_display_name": from_mailboxes[0].display_name if from_mailboxes else None,
            "from_display_name_rfc2047": legacy_name,
            "from_address": from_mailboxes[0].addr_spec if from_mailboxes else None,
            "from_count": len(from_mailboxes),
            "to": [a.addr_spec for a in message["To"].addresses] if message["To"] else [],
            "message_id": message["Message-ID"],
            "content_type": message.get_content_type(),
            "parts": parts,
            "defects": defects,
        }
        self.seq += 1
        name = os.path.join(self.directory, "%04d.json" % self.seq)
        # Raw 8-bit header bytes come back from the parser as surrogate escapes: write
        # them out as the original UTF-8.
        with open(name + ".tmp", "w", encoding="utf-8", errors="surrogateescape") as f:
            json.dump(record, f, ensure_ascii=False)
        os.replace(name + ".tmp", name)
        return "250 2.0.0 message accepted"


def make_authenticator(expected_user, expected_password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == expected_user.encode()
            and auth_data.password == expected_password.encode()
        )
        if ok:
            return AuthResult(success=True, auth_data=auth_data)
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=False, handled=False)

    return authenticator


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls", choices=["none", "starttls", "implicit"], default="none")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth", help="user:password; AUTH becomes mandatory")
    args = parser.parse_args()

    context = None
    if args.tls != "none":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)

    kwargs = {"enable_SMTPUTF8": True, "hostname": "smtp.test"}
    if args.auth:
        user, password = args.auth.split(":", 1)
        kwargs["authenticator"] = make_authenticator(user, password)
        kwargs["auth_required"] = True
    if args.tls == "starttls":
        kwargs["tls_context"] = context
        kwargs["require_starttls"] = True
    if args.tls == "implicit":
        # The whole connection is TLS already; aiosmtpd only tracks STARTTLS itself.
        kwargs["auth_require_tls"] = False

    handler = Handler(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **kwargs),
        host="127.0.0.1",
        port=0,
        ssl=context if args.tls == "implicit" else None,
    )
    port = server.sockets[0].getsockname()[1]
    print("PORT %d" % port, flush=True)

    # Serve until the test closes our stdin (or dies).
    stdin_closed = loop.run_in_executor(None, sys.stdin.buffer.read)
    async with server:
        await stdin_closed
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())
