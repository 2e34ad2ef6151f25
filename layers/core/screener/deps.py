"""What a function builds once per container and passes into the core (no globals in the core).

Public API::

    Dependencies(config, objects, classifier)
    build_dependencies(env: Mapping[str, str] | None = None, s3_client_=None) -> Dependencies

The S3 client honours ``AWS_ENDPOINT_URL`` (botocore reads it itself) and then uses path-style
addressing, which moto server, SeaweedFS and MinIO need for bucket names in the path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from .classifier import Classifier
from .config import Config, load_config
from .s3_objects import S3Objects


@dataclass(frozen=True)
class Dependencies:
    config: Config
    objects: S3Objects
    classifier: Classifier


def s3_client(env: Mapping[str, str], max_attempts: int = 4, max_pool_connections: int = 10) -> Any:
    """``max_attempts``/``max_pool_connections``: the backfill retries longer (a throttled batch is
    cheaper to wait out than to redeliver) and reads from several threads at once.

    A plain botocore client: boto3's session adds only resource and transfer helpers this code
    never calls, and importing and setting it up costs ~50 ms of CPU in every cold start."""
    import botocore.session
    from botocore.config import Config as BotoConfig

    custom_endpoint = bool(env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"))
    cfg = BotoConfig(
        # Standard mode retries throttling and 5xx with backoff; anything still failing is
        # re-raised by the handler so Lambda's async retry redelivers the event.
        retries={"mode": "standard", "max_attempts": max_attempts},
        max_pool_connections=max_pool_connections,
        connect_timeout=5,
        read_timeout=30,
        s3={"addressing_style": "path" if custom_endpoint else "auto"},
    )
    return botocore.session.get_session().create_client("s3", config=cfg)


def build_dependencies(env: Mapping[str, str] | None = None, s3_client_: Any = None) -> Dependencies:
    """Parse the config (fails fast with ConfigError), load and verify the model, make the client.

    One after the other, on purpose: building the client on a second thread while ONNX Runtime
    builds the session (GIL released) measured no steadier a cold start on two shared cores,
    and a 1769 MB Lambda has one vCPU to share between them (README "Speed")."""
    env = os.environ if env is None else env
    config = load_config(env)
    classifier = Classifier.from_dir(config.model_dir, config.ort_threads)
    client = s3_client_ if s3_client_ is not None else s3_client(env)
    return Dependencies(config=config, objects=S3Objects(client), classifier=classifier)
