"""Product-photo screener core: pure decision logic plus thin S3 adapters, shared by every function."""
