"""How the tests and the screenshot script launch Debian's Chromium with Playwright (never
Playwright's own browser download, which this network refuses)."""

CHROMIUM = "/usr/bin/chromium"
# Headless, without the background traffic (updates, sync, QUIC) that nothing here answers.
CHROMIUM_LAUNCH = {
    "executable_path": CHROMIUM,
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
    ],
}
