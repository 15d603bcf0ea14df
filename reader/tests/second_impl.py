#!/usr/bin/env python3
"""A second, independent implementation of the fuel card's cryptography.

Written from READER.md section 3 and reader/README.md (the project's own
grey-lock and PIN-unblock choices), not from the Rust code, with
pycryptodome's DES and 3DES. Reads one JSON object of inputs per line on
stdin and writes one JSON object of outputs per line on stdout; the Rust test
`second_impl.rs` compares them with `fuelcard_reader::keys`.
"""

import json
import sys

from Crypto.Cipher import DES, DES3


def h(s):
    return bytes.fromhex(s)


def tdes(key16, block8):
    return DES3.new(key16, DES3.MODE_ECB).encrypt(block8)


def des(key8, block8):
    return DES.new(key8, DES.MODE_ECB).encrypt(block8)


def mac(key8, data):
    """ISO 9797-1 MAC algorithm 1, single DES, zero IV, padding method 2."""
    data = data + b"\x80"
    data += b"\x00" * (-len(data) % 8)
    last = DES.new(key8, DES.MODE_CBC, iv=bytes(8)).encrypt(data)[-8:]
    return last[:4]


def diversify(mk, asn8):
    return tdes(mk, asn8) + tdes(mk, bytes(b ^ 0xFF for b in asn8))


def u32(n):
    return n.to_bytes(4, "big")


def u16(n):
    return n.to_bytes(2, "big")


def case(c):
    asn8 = h(c["asn8"])
    dlk = diversify(h(c["mk_load"]), asn8)
    dpk = diversify(h(c["mk_purchase"]), asn8)
    dtk = diversify(h(c["mk_tac"]), asn8)
    dpuk = diversify(h(c["mk_pin"]), asn8)
    tac_key = bytes(a ^ b for a, b in zip(dtk[:8], dtk[8:]))
    random, term = h(c["random"]), h(c["terminal"])
    date, time = h(c["date"]), h(c["time"])
    amount, balance = c["amount"], c["balance"]
    out = {"dlk": dlk, "dpk": dpk, "dtk": dtk, "dpuk": dpuk}

    # Load (type 01, ED).
    seslk = tdes(dlk, random + u16(c["online_ttc"]) + b"\x80\x00")
    out["seslk"] = seslk
    out["load_mac1"] = mac(seslk, u32(balance) + u32(amount) + b"\x01" + term)
    out["load_mac2"] = mac(seslk, u32(amount) + b"\x01" + term + date + time)
    out["load_tac"] = mac(
        tac_key,
        u32(balance + amount) + u16(c["online_ttc"]) + u32(amount) + b"\x01" + term + date + time,
    )

    # Purchase (type 05, ED).
    tttc = u32(c["terminal_ttc"])
    sespk = tdes(dpk, random + u16(c["offline_ttc"]) + tttc[2:])
    out["sespk"] = sespk
    out["purchase_mac1"] = mac(sespk, u32(amount) + b"\x05" + term + date + time)
    out["purchase_mac2"] = mac(sespk, u32(amount))
    out["purchase_tac"] = mac(tac_key, u32(amount) + b"\x05" + term + tttc + date + time)

    # Grey lock.
    psam_ttc = u32(c["psam_ttc"])
    tmp = tdes(dpk, random + u16(c["ctc"]) + psam_ttc[2:])
    sesk = des(tmp, h(c["psam_random"]) + b"\x80\x00\x00\x00")
    out["grey_sesk"] = sesk
    out["grey_mac1"] = mac(sesk, b"\x91" + term + date + time)
    out["grey_mac2"] = mac(sesk, u32(balance))
    out["gtac"] = mac(tac_key, b"\x91" + term + psam_ttc + date + time)

    # Debit for unlock.
    sesuk = tdes(dpk, u16(c["ctc"]) + b"\x93\x80\x00\x00\x00\x00")
    out["sesuk"] = sesuk
    out["gmac"] = mac(sesuk, b"\x93" + asn8 + u16(c["ctc"]) + u32(amount))
    out["unlock_tac"] = mac(tac_key, u32(amount) + b"\x93" + term + psam_ttc + date + time)

    # PIN unblock.
    pin = h(c["new_pin"])
    session = tdes(dpuk, h(c["challenge"]) + bytes(4))
    out["pin_session"] = session
    out["pin_mac"] = mac(session, bytes([0x84, 0x24, 0x00, 0x00, len(pin) + 4]) + pin)
    return {k: v.hex().upper() for k, v in out.items()}


def main():
    for line in sys.stdin:
        line = line.strip()
        if line:
            print(json.dumps(case(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
