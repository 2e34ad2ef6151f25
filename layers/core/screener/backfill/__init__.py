"""Catalog backfill over SQS: one seed message lists a prefix page by page and fans it out as work.

Pure pieces (messages, fan-out planning, report aggregation) sit beside thin S3/SQS adapters that
take their clients as arguments; the Lambda handler in functions/backfill only wires them up.
"""
