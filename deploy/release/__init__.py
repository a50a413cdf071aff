"""The release build: the artifact an instance downloads, and its static files, collected
once (`python -m deploy.release`, `make release`)."""
