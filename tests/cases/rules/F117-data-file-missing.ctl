{"spec": "loans/1", "file": "ACME_20250131_001.loans.csv", "sha256": "9f2c4d0b8e6a1f3c5b7d9e0a2c4f6b8d1e3a5c7f9b0d2e4a6c8f1b3d5e7a9c0b", "records": 3, "as_of": "2025-01-31"}
