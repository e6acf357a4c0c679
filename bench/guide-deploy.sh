#!/usr/bin/env bash
# The anynines zero-downtime guide (../shared/reference/zero-downtime-guide.txt) as the
# bash script a team would write from it, with the guide's `cf push -n` replaced by the
# `--no-route` push cf v7+ needs. It is the baseline cf-bluegreen is measured against.
#
#   guide-deploy.sh OLD NEW DOMAIN STAGING_HOST STAGING_URL LIVE_HOST...
#
# Like most hand-written scripts it is told which app is live (OLD) instead of finding
# out, and has no lock, records, recovery, capacity check or drain: what it does is
# exactly the guide's sequence, one cf call after the other. cf is $CF (default: cf).
set -euo pipefail
old=$1 new=$2 domain=$3 staging=$4 staging_url=$5
shift 5
cf=${CF:-cf}

"$cf" push "$new" --no-route
"$cf" map-route "$new" "$domain" --hostname "$staging"
# The "last check" of step 2: the staging URL through the router, retried for up to 30 s
# as an app that is still starting would need. --noproxy: it is 127.0.0.1 in the bench.
curl -fsS -o /dev/null --noproxy '*' --max-time 5 \
  --retry 30 --retry-delay 1 --retry-all-errors "$staging_url"
for live in "$@"; do "$cf" map-route "$new" "$domain" --hostname "$live"; done
for live in "$@"; do "$cf" unmap-route "$old" "$domain" --hostname "$live"; done
"$cf" unmap-route "$new" "$domain" --hostname "$staging"
"$cf" stop "$old"
