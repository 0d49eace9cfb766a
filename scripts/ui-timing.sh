#!/bin/sh
# ui-timing.sh runs the browser timing test several times and prints the
# median and 95th percentile of the server time (first byte) and the first
# contentful paint, per page: the inbox, and a conversation of 200 messages.
# The targets are < 100 ms server time and < 300 ms to paint.
#
#   scripts/ui-timing.sh [runs]     (default 5; each run measures 3 loads)
set -eu
runs=${1:-5}
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
WEBCARE_TIMING_OUT=$out go test -count="$runs" -run '^TestTimeToFirstPaint$' ./internal/web/browsertest/ >/dev/null
for page in $(cut -d' ' -f1 "$out" | sort -u); do
	for col in 2 3; do
		name=server; [ "$col" = 3 ] && name=paint
		grep "^$page " "$out" | cut -d' ' -f"$col" | sort -n | awk -v page="$page" -v name="$name" '
			{ v[NR] = $1 }
			END {
				if (NR == 0) exit
				p95 = int(0.95 * NR + 0.999); if (p95 > NR) p95 = NR
				med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%-18s %-6s n=%-3d median %7.1f ms   p95 %7.1f ms   max %7.1f ms\n", page, name, NR, med, v[p95], v[NR]
			}'
	done
done
