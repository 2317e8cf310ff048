#!/usr/bin/env python3
"""Decrypts an Aegis vault file with the `cryptography` package, written from Aegis's
docs/vault.md and nothing of ours: scrypt(password, salt, N, r, p) -> slot key; AES-256-GCM
unwraps the master key; AES-256-GCM decrypts `db`. Prints the content JSON.

Usage: aegis_decrypt.py FILE  (password on stdin)"""
import base64
import json
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt


def main():
    vault = json.load(open(sys.argv[1], encoding="utf-8"))
    password = sys.stdin.readline().rstrip("\n").encode("utf-8")
    assert vault["version"] == 1, "outer version"
    master = None
    for slot in vault["header"]["slots"]:
        if slot["type"] != 1:
            continue
        kdf = Scrypt(salt=bytes.fromhex(slot["salt"]), length=32,
                     n=slot["n"], r=slot["r"], p=slot["p"])
        key = kdf.derive(password)
        params = slot["key_params"]
        try:
            master = AESGCM(key).decrypt(
                bytes.fromhex(params["nonce"]),
                bytes.fromhex(slot["key"]) + bytes.fromhex(params["tag"]),
                None)
            break
        except Exception:  # wrong password for this slot
            continue
    if master is None:
        sys.exit("no slot opened with this password")
    params = vault["header"]["params"]
    content = AESGCM(master).decrypt(
        bytes.fromhex(params["nonce"]),
        base64.b64decode(vault["db"]) + bytes.fromhex(params["tag"]),
        None)
    json.dump(json.loads(content), sys.stdout)


main()
