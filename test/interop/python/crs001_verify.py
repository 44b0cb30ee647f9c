#!/usr/bin/env python3
"""An independent CRS-001 verifier in Python 3 (standard library only), written from the spec (CRS-001.md) and the
reference notes, the way the original Python implementation verifies a record:

1. read the record text with json.loads (ints stay Python ints of any size, `12.0` stays a float);
2. hold it as its model does (pydantic): fields typed float become floats (`3` -> 3.0), fields typed int become
   ints (an integral float is coerced), datetimes become `datetime` objects (any offset kept, naive kept, digits
   beyond microseconds truncated), and are dumped back as pydantic's JSON mode writes them;
3. content_hash = "sha256:" + sha256(content as UTF-8);
   record_hash = "sha256:" + sha256(json.dumps(dump, sort_keys=True, separators=(",", ":"), ensure_ascii=True))
   with integrity.record_hash "", signed_at and signature None, and signing_key_id removed;
4. signature (when the record has one and a key is given) = "hmac-sha256:" + HMAC-SHA256(key,
   "fabra:crs-001:" + record_hash), compared with hmac.compare_digest, whatever signing_key_id says; the key text is
   decoded as FABRA_SIGNING_KEY is: stripped, then `base64:` / `hex:` (bytes.fromhex, spaces allowed) or raw UTF-8.

Usage: crs001_verify.py [--key KEY_TEXT] FILE...   (a FILE of `-` reads stdin)
Prints one JSON object per record: {"file", "context_id", "ok", "content_hash", "record_hash", "signature"} where
each check is "ok", "mismatch" (with the recomputed value in "actual"), and signature also "absent" (unsigned) or
"unchecked" (signed, no key given). Exit 0 when every record verifies, 1 when one does not, 2 on unreadable input.
"""
import base64
import hashlib
import hmac
import json
import re
import sys
from datetime import datetime, timedelta, timezone

FLOAT_FIELDS = {
    ("retrieved_items", "similarity_score"),
    ("lineage", "assembly_latency_ms"),
    ("lineage", "estimated_cost_usd"),
}
INT_FIELDS = {
    ("", "token_count"),
    ("features", "freshness_ms"),
    ("retrieved_items", "token_count"),
    ("retrieved_items", "priority"),
    ("retrieved_items", "freshness_ms"),
    ("assembly", "max_tokens"),
    ("assembly", "tokens_used"),
    ("assembly", "items_provided"),
    ("assembly", "items_included"),
    ("assembly", "freshness_sla_ms"),
    ("dropped_items", "priority"),
    ("dropped_items", "token_count"),
}
DATETIME_FIELDS = {("", "created_at"), ("features", "as_of"), ("retrieved_items", "as_of"), ("integrity", "signed_at")}

ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_datetime(text: str) -> datetime:
    """pydantic's reading of an ISO-8601 datetime: the offset kept (none: naive), fraction truncated to microseconds."""
    m = ISO.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an ISO-8601 datetime")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micros = int((frac or "").ljust(6, "0")[:6]) if frac else 0
    tzinfo = None
    if tz in ("Z", "z"):
        tzinfo = timezone.utc
    elif tz:
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        tzinfo = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or "0")))
    return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micros, tzinfo)


def pyd_datetime(dt: datetime) -> str:
    """pydantic v2's JSON form of a datetime."""
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        base += ".%06d" % dt.microsecond
    off = dt.utcoffset()
    if off is None:
        return base
    if off == timedelta(0):
        return base + "Z"
    total = int(off.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return "%s%s%02d:%02d" % (base, sign, total // 3600, (total % 3600) // 60)


def coerce(obj: dict, where: str) -> dict:
    """The model's view of one object's typed fields (the rest, inputs and feature values included, as read)."""
    out = dict(obj)
    for key, value in obj.items():
        if value is None:
            continue
        if (where, key) in FLOAT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}.{key} is not a number")
            out[key] = float(value)
        elif (where, key) in INT_FIELDS:
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{where}.{key} is not an integer")
            out[key] = value
        elif (where, key) in DATETIME_FIELDS:
            out[key] = pyd_datetime(parse_datetime(value))
    return out


def model_dump(record: dict) -> dict:
    dump = coerce(record, "")
    dump["features"] = [coerce(f, "features") for f in record["features"]]
    dump["retrieved_items"] = [coerce(r, "retrieved_items") for r in record["retrieved_items"]]
    assembly = coerce(record["assembly"], "assembly")
    assembly["dropped_items"] = [coerce(d, "dropped_items") for d in record["assembly"]["dropped_items"]]
    dump["assembly"] = assembly
    dump["lineage"] = coerce(record["lineage"], "lineage")
    dump["integrity"] = coerce(record["integrity"], "integrity")
    return dump


def canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_key(text: str) -> bytes:
    value = text.strip()
    if value.startswith("base64:"):
        return base64.b64decode(value[7:])
    if value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    return value.encode("utf-8")


def verify(record: dict, key) -> dict:
    dump = model_dump(record)
    integrity = dump["integrity"]
    hashing = json.loads(json.dumps(dump))  # a deep copy
    hashing["integrity"]["record_hash"] = ""
    hashing["integrity"]["signed_at"] = None
    hashing["integrity"]["signature"] = None
    hashing["integrity"].pop("signing_key_id", None)
    content = sha(dump["content"].encode("utf-8"))
    record_hash = sha(canonical(hashing).encode("utf-8"))
    result = {"context_id": dump["context_id"], "content_hash": "ok", "record_hash": "ok"}
    if content != integrity["content_hash"]:
        result["content_hash"] = "mismatch"
        result["actual_content_hash"] = content
    if record_hash != integrity["record_hash"]:
        result["record_hash"] = "mismatch"
        result["actual_record_hash"] = record_hash
    signature = integrity.get("signature")
    if signature is None:
        result["signature"] = "absent"
    elif key is None:
        result["signature"] = "unchecked"
    else:
        mac = hmac.new(key, ("fabra:crs-001:" + integrity["record_hash"]).encode("utf-8"), hashlib.sha256)
        result["signature"] = "ok" if hmac.compare_digest("hmac-sha256:" + mac.hexdigest(), signature) else "mismatch"
    result["ok"] = "mismatch" not in (result["content_hash"], result["record_hash"], result["signature"])
    return result


def main(argv) -> int:
    key = None
    files = []
    i = 0
    while i < len(argv):
        if argv[i] == "--key":
            key = parse_key(argv[i + 1])
            i += 2
        else:
            files.append(argv[i])
            i += 1
    if not files:
        print(__doc__, file=sys.stderr)
        return 2
    status = 0
    for name in files:
        try:
            text = sys.stdin.read() if name == "-" else open(name, encoding="utf-8").read()
            result = {"file": name, **verify(json.loads(text), key)}
        except (OSError, ValueError, KeyError, TypeError) as err:
            print(json.dumps({"file": name, "ok": False, "error": f"{type(err).__name__}: {err}"}))
            status = max(status, 2)
            continue
        print(json.dumps(result))
        if not result["ok"]:
            status = max(status, 1)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
