"""The only module that talks to S3: a thin adapter over a boto3 S3 client.

Public API::

    S3Objects(client)                       pass any boto3/botocore S3 client (or a wrapper
                                            that injects faults: every call goes through it)
      .head(bucket, key, version_id=None) -> ObjectInfo | None       None when absent
      .exists(bucket, key) -> bool
      .read(info, max_bytes) -> bytes       raises SourceChanged, ObjectTooLarge
      .get_tags(info) -> dict[str, str]   raises SourceChanged
      .put_tags(bucket, key, tags, version_id=None) -> None
      .move(info, dest_key, tags, extra_metadata=None) -> MoveResult
      .unmovable(info, dest_key) -> str | None   why move would tag in place instead, or None
      .rewrite_in_place(info, tags, metadata) -> None   new tags and metadata, if still that version;
                                            raises SourceChanged
    ObjectInfo        what HEAD said about the screened object (etag, version, size, headers)
    MoveOutcome       MOVED | COPIED_SOURCE_CHANGED | SUPERSEDED | DUPLICATE | MISSING | TAGGED_IN_PLACE
    MoveResult(outcome, destination, detail)
    SourceChanged, ObjectTooLarge
    Listing and small files (the backfill's pages and reports):
      .list_page(bucket, prefix, token=None, max_keys=1000) -> ListPage   one ListObjectsV2 page
      .iter_objects(bucket, prefix) -> Iterator[ListedObject]             every page
      .put_bytes(bucket, key, data, content_type, if_absent=False) -> bool
                                            False when if_absent and the key exists (If-None-Match)
      .get_bytes(bucket, key) -> bytes | None                             None when absent

Move without loss:
1. CopyObject to the destination with ``CopySourceIfMatch`` = the screened ETag (and the screened
   ``VersionId`` in versioned buckets), so a photo re-uploaded while it was screened is never
   moved under the old verdict: a 412 there means SUPERSEDED and nothing is touched; the new
   upload's own event screens it.
2. Only after the copy succeeded, delete the source with ``DeleteObject IfMatch`` = the same ETag
   (S3 conditional delete; it applies to the current version). In a versioned bucket this places
   a delete marker over exactly the screened version rather than erasing a version, so an older
   version can never resurface under incoming/ and nothing is destroyed; a lifecycle rule in the
   template expires those noncurrent versions. A 412 on the delete means the key was re-uploaded
   after the copy: the new upload stays for its own event (COPIED_SOURCE_CHANGED); a 412 on a key
   that is gone (SeaweedFS answers so where S3 says 404) is a delivery that lost a race. A server that
   rejects the If-Match header (NotImplemented/InvalidArgument) gets a re-HEAD and a plain delete
   only if the ETag (and version) still match: a narrower, documented race.
Everything the object carries is kept: user metadata and content headers (MetadataDirective
COPY, or REPLACE with every header re-sent when screening metadata must be added), tags
(TaggingDirective REPLACE with the merged set), SSE-S3 or SSE-KMS with the same key id and
bucket-key setting, and the storage class. Any other S3 error propagates: the caller retries
the whole record, which is safe because every step above is idempotent or conditional.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, Iterator, Mapping

from botocore.exceptions import ClientError

from .s3_keys import MAX_KEY_BYTES, key_fits
from .tags import encode_tagging

MAX_COPY_BYTES = 5 * 1024**3  # CopyObject's single-request limit
_ABSENT = {"404", "NoSuchKey", "NoSuchVersion", "NotFound", "405", "MethodNotAllowed"}
_PRECONDITION = {"412", "PreconditionFailed"}
_UNSUPPORTED_CONDITION = {"NotImplemented", "501", "InvalidArgument", "InvalidRequest"}


class SourceChanged(Exception):
    """The object is no longer the one that was screened (412, or it vanished)."""


class ObjectTooLarge(Exception):
    """The body is longer than the byte cap (it grew after HEAD, or HEAD lied)."""


class MoveOutcome(str, Enum):
    MOVED = "moved"  # copied, then the screened source removed
    COPIED_SOURCE_CHANGED = "copied-source-changed"  # copied; the key was re-uploaded before the delete
    SUPERSEDED = "superseded"  # re-uploaded before the copy: nothing done, its own event screens it
    DUPLICATE = "duplicate"  # source already gone and a destination exists: an earlier delivery did it
    MISSING = "missing"  # source gone and no destination: deleted by someone else
    # Unmovable (over CopyObject's 5 GiB, or no destination name S3 can hold): verdict tagged, left in place.
    TAGGED_IN_PLACE = "tagged-in-place"


@dataclass(frozen=True)
class MoveResult:
    outcome: MoveOutcome
    destination: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str  # with its quotes, as S3 returns it
    version_id: str | None  # None in unversioned buckets
    content_type: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    storage_class: str | None = None  # None means STANDARD (HEAD omits it)
    sse: str | None = None  # "AES256" | "aws:kms" | "aws:kms:dsse"
    kms_key_id: str | None = None
    bucket_key_enabled: bool | None = None
    content_headers: Mapping[str, Any] = field(default_factory=dict)  # CacheControl, ContentEncoding, ...

    @property
    def bare_etag(self) -> str:
        return self.etag.strip('"')


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    etag: str
    last_modified: datetime | None = None  # when this version was written (for review/: when it arrived)


@dataclass(frozen=True)
class ListPage:
    objects: tuple[ListedObject, ...]
    next_token: str | None  # None on the last page


_CONTENT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "Expires")


def _code(e: ClientError) -> set[str]:
    err = e.response.get("Error", {})
    status = str(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
    return {str(err.get("Code", "")), status}


def _version(v: str | None) -> str | None:
    return None if v in (None, "", "null") else v


class S3Objects:
    def __init__(self, client: Any):
        self.client = client

    # -- reading -------------------------------------------------------------------------------
    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectInfo | None:
        kw: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kw["VersionId"] = version_id
        try:
            r = self.client.head_object(**kw)
        except ClientError as e:
            if _code(e) & _ABSENT:
                return None
            raise
        headers = {h: r[h] for h in _CONTENT_HEADERS if r.get(h) is not None}
        return ObjectInfo(
            bucket=bucket,
            key=key,
            size=int(r.get("ContentLength", 0)),
            etag=r["ETag"],
            version_id=_version(r.get("VersionId")),
            content_type=r.get("ContentType"),
            metadata=dict(r.get("Metadata", {})),
            storage_class=r.get("StorageClass"),
            sse=r.get("ServerSideEncryption"),
            kms_key_id=r.get("SSEKMSKeyId"),
            bucket_key_enabled=r.get("BucketKeyEnabled"),
            content_headers=headers,
        )

    def exists(self, bucket: str, key: str) -> bool:
        # No object can have a name S3 cannot hold; S3 would refuse even to look it up.
        return key_fits(key) and self.head(bucket, key) is not None

    def read(self, info: ObjectInfo, max_bytes: int) -> bytes:
        """The screened version's bytes, never more than ``max_bytes`` read into memory."""
        kw = self._pin(info, {"Bucket": info.bucket, "Key": info.key, "IfMatch": info.etag})
        try:
            r = self.client.get_object(**kw)
        except ClientError as e:
            if _code(e) & (_PRECONDITION | _ABSENT):
                raise SourceChanged(f"{info.key}: changed or gone since HEAD") from e
            raise
        body = r["Body"]
        try:
            data = body.read(max_bytes + 1)
        finally:
            body.close()
        if len(data) > max_bytes:
            raise ObjectTooLarge(f"{info.key}: more than {max_bytes} bytes")
        return data

    def get_tags(self, info: ObjectInfo) -> dict[str, str]:
        """The screened version's tags. Raises SourceChanged when it is gone."""
        kw = self._pin(info, {"Bucket": info.bucket, "Key": info.key})
        try:
            r = self.client.get_object_tagging(**kw)
        except ClientError as e:
            if _code(e) & _ABSENT:
                raise SourceChanged(f"{info.key}: gone since HEAD") from e
            raise
        return {t["Key"]: t["Value"] for t in r.get("TagSet", [])}

    def put_tags(self, bucket: str, key: str, tags: Mapping[str, str], version_id: str | None = None) -> None:
        kw: dict[str, Any] = {"Bucket": bucket, "Key": key,
                              "Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]}}
        if version_id:
            kw["VersionId"] = version_id
        self.client.put_object_tagging(**kw)

    # -- moving --------------------------------------------------------------------------------
    @staticmethod
    def unmovable(info: ObjectInfo, dest_key: str) -> str | None:
        """Why ``move`` could not copy ``info`` to ``dest_key`` (and would tag it in place), or None.
        Only an over-cap object can be over CopyObject's limit; a multipart copy is not worth it for
        a photo no one should have uploaded. A name S3 cannot hold: process_object tries review/ first."""
        if info.size > MAX_COPY_BYTES:
            return f"{info.size} bytes > CopyObject limit"
        if not key_fits(dest_key):
            return f"destination key of {len(dest_key.encode('utf-8'))} bytes > S3's {MAX_KEY_BYTES}"
        return None

    def move(self, info: ObjectInfo, dest_key: str, tags: Mapping[str, str],
             extra_metadata: Mapping[str, str] | None = None) -> MoveResult:
        why = self.unmovable(info, dest_key)
        if why is not None:  # the verdict is recorded where the object lies
            self.put_tags(info.bucket, info.key, tags, info.version_id)
            return MoveResult(MoveOutcome.TAGGED_IN_PLACE, None, why)
        try:
            self.client.copy_object(**self.copy_request(info, dest_key, tags, extra_metadata))
        except ClientError as e:
            if _code(e) & (_PRECONDITION | _ABSENT):
                return MoveResult(MoveOutcome.SUPERSEDED, None, "source changed before the copy")
            raise
        return self._delete_screened(info, dest_key)

    def rewrite_in_place(self, info: ObjectInfo, tags: Mapping[str, str], metadata: Mapping[str, str]) -> None:
        """Replace the object's tags and add ``metadata``, only if it is still the version ``info``
        describes: a copy onto itself with ``CopySourceIfMatch`` (PutObjectTagging takes no
        condition). S3 allows a self-copy only when something changes, hence the metadata. The
        bytes, ETag, content headers and encryption stay; a versioned bucket gains a version.
        Raises SourceChanged (412, or gone)."""
        if not metadata:
            raise ValueError("a copy onto itself must change the metadata")
        try:
            self.client.copy_object(**self.copy_request(info, info.key, tags, metadata))
        except ClientError as e:
            if _code(e) & (_PRECONDITION | _ABSENT):
                raise SourceChanged(f"{info.key}: changed or gone since HEAD") from e
            raise

    def copy_request(self, info: ObjectInfo, dest_key: str, tags: Mapping[str, str],
                     extra_metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The CopyObject parameters (public so tests can check them against any server)."""
        source: dict[str, str] = {"Bucket": info.bucket, "Key": info.key}
        if info.version_id:
            source["VersionId"] = info.version_id
        req: dict[str, Any] = {
            "Bucket": info.bucket,
            "Key": dest_key,
            "CopySource": source,
            "CopySourceIfMatch": info.etag,
            "TaggingDirective": "REPLACE",
            "Tagging": encode_tagging(tags),
        }
        if extra_metadata:
            # REPLACE drops every header not re-sent, so send them all back.
            req["MetadataDirective"] = "REPLACE"
            req["Metadata"] = {**info.metadata, **extra_metadata}
            if info.content_type:
                req["ContentType"] = info.content_type
            req.update(info.content_headers)
        else:
            req["MetadataDirective"] = "COPY"
        # A copy is encrypted with the bucket default unless told otherwise: re-state the
        # source's encryption so a KMS key chosen by the uploader is kept.
        if info.sse:
            req["ServerSideEncryption"] = info.sse
            if info.sse.startswith("aws:kms") and info.kms_key_id:
                req["SSEKMSKeyId"] = info.kms_key_id
            if info.bucket_key_enabled is not None and info.sse.startswith("aws:kms"):
                req["BucketKeyEnabled"] = info.bucket_key_enabled
        if info.storage_class and info.storage_class != "STANDARD":
            req["StorageClass"] = info.storage_class
        return req

    def _delete_screened(self, info: ObjectInfo, dest_key: str) -> MoveResult:
        try:
            self.client.delete_object(Bucket=info.bucket, Key=info.key, IfMatch=info.etag)
            return MoveResult(MoveOutcome.MOVED, dest_key)
        except ClientError as e:
            codes = _code(e)
            if codes & _PRECONDITION:
                # S3 answers 404 when the key is gone; some servers (SeaweedFS) answer 412 then too,
                # e.g. when a concurrent delivery deleted it first. Only a new upload is "changed".
                if self.head(info.bucket, info.key) is None:
                    return MoveResult(MoveOutcome.MOVED, dest_key, "source already deleted")
                return MoveResult(MoveOutcome.COPIED_SOURCE_CHANGED, dest_key, "re-uploaded after the copy")
            if codes & _ABSENT:  # a concurrent delivery deleted it first: same end state
                return MoveResult(MoveOutcome.MOVED, dest_key, "source already deleted")
            if not codes & _UNSUPPORTED_CONDITION:
                raise
        # The server does not do conditional deletes: check, then delete (a narrow race).
        current = self.head(info.bucket, info.key)
        if current is None:
            return MoveResult(MoveOutcome.MOVED, dest_key, "source already deleted")
        if current.etag != info.etag or current.version_id != info.version_id:
            return MoveResult(MoveOutcome.COPIED_SOURCE_CHANGED, dest_key, "re-uploaded after the copy")
        self.client.delete_object(Bucket=info.bucket, Key=info.key)
        return MoveResult(MoveOutcome.MOVED, dest_key, "unconditional delete after re-check")

    # -- listing and small files ---------------------------------------------------------------
    def list_page(self, bucket: str, prefix: str, token: str | None = None, max_keys: int = 1000) -> ListPage:
        kw: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": max_keys}
        if token:
            kw["ContinuationToken"] = token
        r = self.client.list_objects_v2(**kw)
        objs = tuple(ListedObject(c["Key"], int(c.get("Size", 0)), c.get("ETag", ""), c.get("LastModified"))
                     for c in r.get("Contents", []))
        return ListPage(objs, r.get("NextContinuationToken") if r.get("IsTruncated") else None)

    def iter_objects(self, bucket: str, prefix: str) -> Iterator[ListedObject]:
        token: str | None = None
        while True:
            page = self.list_page(bucket, prefix, token)
            yield from page.objects
            if page.next_token is None:
                return
            token = page.next_token

    def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream",
                  if_absent: bool = False) -> bool:
        """Write a small object. With ``if_absent`` (S3 conditional write, If-None-Match: *), an
        existing key is left alone and False is returned."""
        kw: dict[str, Any] = {"Bucket": bucket, "Key": key, "Body": data, "ContentType": content_type}
        if if_absent:
            kw["IfNoneMatch"] = "*"
        try:
            self.client.put_object(**kw)
        except ClientError as e:
            if if_absent and _code(e) & _PRECONDITION:
                return False
            raise
        return True

    def get_bytes(self, bucket: str, key: str) -> bytes | None:
        try:
            r = self.client.get_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if _code(e) & _ABSENT:
                return None
            raise
        with r["Body"] as body:
            return body.read()

    @staticmethod
    def _pin(info: ObjectInfo, kw: dict[str, Any]) -> dict[str, Any]:
        if info.version_id:
            kw["VersionId"] = info.version_id
        return kw
