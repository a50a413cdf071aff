"""The AWS deploy tool: `python -m deploy.aws` (deploy/aws/cli.py; runbook: deploy/README.md)."""
