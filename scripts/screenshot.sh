#!/bin/sh
# screenshot.sh makes docs/screenshot-inbox.png, the README's picture of
# the inbox: the demo at 1440×900 in headless Chromium, with live traffic
# and a conversation with history open.
set -eu
cd "$(dirname "$0")/.."
WEBCARE_SCREENSHOT_DIR=$(pwd)/docs go test -count=1 -run '^TestReadmeScreenshot$' -v ./internal/web/browsertest/ | grep -E '^(---|ok|FAIL)|wrote' || true
test -s docs/screenshot-inbox.png
echo "docs/screenshot-inbox.png"
