#!/usr/bin/env python3
"""Writes an OTPClient 3.x database (the "v1" format of Debian's otpclient 3.1.4) so that
bench/desktop_vs_otpclient.sh can start OTPClient straight into its main window with codes.

Standard library only; the cipher comes from libgcrypt (which OTPClient itself links)
through ctypes, so the file is made with the very library that will read it.

Format (OTPClient src/db-misc.c, 3.x):
    iv[16] salt[32] | AES-256-GCM(json + NUL) | tag[16]
    key  = PBKDF2-HMAC-SHA512(password + NUL, salt, 100000 iterations, 32 bytes)
    AAD  = the 48 header bytes (iv + salt)
    json = [{"type": "TOTP", "label": ..., "issuer": ..., "secret": ..., "digits": 6,
             "algo": "SHA1", "period": 30}, ...]

    otpclient_db.py OUT PASSWORD ISSUER:LABEL:SECRET [...]
"""

import ctypes
import ctypes.util
import hashlib
import json
import os
import sys

IV_SIZE = 16
SALT_SIZE = 32
TAG_SIZE = 16
KDF_ITERATIONS = 100000
GCRY_CIPHER_AES256 = 9
GCRY_CIPHER_MODE_GCM = 9


def gcrypt():
    name = ctypes.util.find_library("gcrypt") or "libgcrypt.so.20"
    lib = ctypes.CDLL(name)
    lib.gcry_check_version.restype = ctypes.c_char_p
    lib.gcry_check_version.argtypes = [ctypes.c_char_p]
    if lib.gcry_check_version(None) is None:
        raise SystemExit("libgcrypt did not initialise")
    for fn in ("gcry_cipher_setkey", "gcry_cipher_setiv", "gcry_cipher_authenticate",
               "gcry_cipher_gettag"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.gcry_cipher_open.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int,
                                     ctypes.c_int, ctypes.c_uint]
    lib.gcry_cipher_encrypt.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                        ctypes.c_char_p, ctypes.c_size_t]
    lib.gcry_cipher_close.argtypes = [ctypes.c_void_p]
    return lib


def check(rc, what):
    if rc != 0:
        raise SystemExit(f"libgcrypt: {what} failed (error {rc})")


def encrypt(plain: bytes, password: str) -> bytes:
    iv, salt = os.urandom(IV_SIZE), os.urandom(SALT_SIZE)
    header = iv + salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode() + b"\0", salt, KDF_ITERATIONS, 32)
    lib = gcrypt()
    hd = ctypes.c_void_p()
    check(lib.gcry_cipher_open(ctypes.byref(hd), GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0), "open")
    try:
        check(lib.gcry_cipher_setkey(hd, key, len(key)), "setkey")
        check(lib.gcry_cipher_setiv(hd, iv, IV_SIZE), "setiv")
        check(lib.gcry_cipher_authenticate(hd, header, len(header)), "authenticate")
        out = ctypes.create_string_buffer(len(plain))
        check(lib.gcry_cipher_encrypt(hd, out, len(plain), plain, len(plain)), "encrypt")
        tag = ctypes.create_string_buffer(TAG_SIZE)
        check(lib.gcry_cipher_gettag(hd, tag, TAG_SIZE), "gettag")
    finally:
        lib.gcry_cipher_close(hd)
    return header + out.raw + tag.raw


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__.strip().splitlines()[-1].strip())
    out, password, specs = argv[0], argv[1], argv[2:]
    tokens = []
    for spec in specs:
        issuer, label, secret = spec.split(":", 2)
        tokens.append({"type": "TOTP", "label": label, "issuer": issuer, "secret": secret,
                       "digits": 6, "algo": "SHA1", "period": 30})
    plain = json.dumps(tokens, separators=(",", ":")).encode() + b"\0"
    data = encrypt(plain, password)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main(sys.argv[1:])
