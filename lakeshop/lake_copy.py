"""`lakeshop lake copy`: chosen prefixes of the lake copied to Azure (ADLS Gen2 / Blob), again
and again, moving only what is new or changed.

What this replaces is a copy activity from S3 to ADLS Gen2 (Data Factory). Per object:

- the source's MD5 (an S3 ETag that is a plain MD5, else the content hashed) is compared with
  the one recorded for it at the destination, in ``<destination>/_lakeshop_copy/manifest.json``;
  equal means unchanged and nothing moves;
- an object already at the destination with the source's size but not in the manifest (a copy
  killed after the upload, before the manifest was saved) is hashed there: equal content is
  recorded, not uploaded again;
- anything else is uploaded whole (a blob appears only when its upload completes) and recorded.

The manifest is saved every few objects and at the end, so a killed copy resumes where it
stopped, and a second copy of an unchanged lake moves nothing: idempotent. Objects deleted
from the source stay at the destination (the lake is immutable by design; say so in the
summary rather than delete).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ingestion import destinations
from ingestion.secrets import secret

MANIFEST = "_lakeshop_copy/manifest.json"
SAVE_EVERY = 20


@dataclass
class CopyResult:
    source: str
    destination: str
    objects: int = 0
    copied: int = 0
    unchanged: int = 0
    recovered: int = 0  # found at the destination after a killed copy, not uploaded again
    bytes_copied: int = 0
    seconds: float = 0.0
    prefixes: list[str] = field(default_factory=list)

    @property
    def mb_per_second(self) -> float:
        return self.bytes_copied / 2**20 / self.seconds if self.seconds else 0.0


def azure_filesystem(url: str) -> tuple[Any, str]:
    """adlfs for an az:// URL: `AZURE_STORAGE_CONNECTION_STRING`, or the account name and key
    (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`)."""
    if not url.startswith(("az://", "abfs://", "abfss://")):
        raise ValueError(f"--to {url!r}: give an az://container/prefix URL")
    import adlfs

    options: dict[str, Any] = {}
    connection = secret("AZURE_STORAGE_CONNECTION_STRING")
    account = destinations.azure_account()
    if connection:
        options["connection_string"] = connection
    elif account and account.get("azure_storage_account_key"):
        options.update(
            account_name=account["azure_storage_account_name"],
            account_key=account["azure_storage_account_key"],
        )
    else:
        raise ValueError(
            "copying to Azure needs AZURE_STORAGE_CONNECTION_STRING, or "
            "AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY"
        )
    return adlfs.AzureBlobFileSystem(**options), url.split("://", 1)[1].rstrip("/")


def _md5(fs: Any, path: str, info: dict[str, Any]) -> str:
    etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
    if len(etag) == 32 and all(c in "0123456789abcdef" for c in etag.lower()):
        return etag.lower()  # a single-part S3 upload: its ETag is the content's MD5
    digest = hashlib.md5(usedforsecurity=False)
    with fs.open(path, "rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _listing(fs: Any, base: str) -> dict[str, int]:
    """path -> size of every object under base, in one listing (not a request per object)."""
    if not fs.exists(base):
        return {}
    return {
        str(p).lstrip("/"): int(info.get("size") or 0)
        for p, info in fs.find(base, detail=True).items()
        if info.get("type") != "directory"
    }


def copy_lake(
    destination: str, prefixes: Sequence[str] = (), source: str | None = None
) -> CopyResult:
    started = time.monotonic()
    source = (source or destinations.lake_url()).rstrip("/")
    src, src_base = destinations.lake_filesystem(source)
    dst, dst_base = azure_filesystem(destination)
    chosen = [p.strip("/") for p in prefixes] or [""]
    result = CopyResult(source, destination, prefixes=chosen)
    manifest_path = f"{dst_base}/{MANIFEST}"
    manifest: dict[str, dict[str, Any]] = (
        json.loads(dst.cat_file(manifest_path)) if dst.exists(manifest_path) else {}
    )
    pending = 0

    def save() -> None:
        dst.pipe_file(manifest_path, json.dumps(manifest, sort_keys=True).encode())

    for prefix in chosen:
        root = f"{src_base.rstrip('/')}/{prefix}".rstrip("/")
        if not src.exists(root):
            continue
        # what is at the destination, recorded or not: one listing of the prefix
        present = _listing(dst, f"{dst_base}/{prefix}".rstrip("/"))
        for path, info in sorted(src.find(root, detail=True).items()):
            if info.get("type") == "directory":
                continue
            relative = str(path)[len(src_base.rstrip("/")) :].lstrip("/")
            result.objects += 1
            size = int(info.get("size") or 0)
            md5 = _md5(src, str(path), info)
            target = f"{dst_base}/{relative}"
            known = manifest.get(relative)
            if known and known["md5"] == md5 and known["size"] == size:
                result.unchanged += 1
                continue
            if present.get(target.lstrip("/")) == size and _md5(dst, target, {}) == md5:
                # uploaded by a copy killed before it saved the manifest
                manifest[relative] = {"md5": md5, "size": size}
                result.recovered += 1
                pending += 1
                continue
            with src.open(str(path), "rb") as handle:
                dst.pipe_file(target, handle.read())
            manifest[relative] = {"md5": md5, "size": size}
            result.copied += 1
            result.bytes_copied += size
            pending += 1
            if pending >= SAVE_EVERY:
                save()
                pending = 0
    if pending or not dst.exists(manifest_path):
        save()
    result.seconds = time.monotonic() - started
    return result
