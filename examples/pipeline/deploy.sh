#!/usr/bin/env bash
# Usage: deploy.sh up|destroy STACK
# Needs: ZEGO_APP_ID, ZEGO_SERVER_SECRET, PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE (from CI secrets).
# Optional: ZEGO_IS_TEST=true; ZEGO_RATE_LIMITER=rediss://... (from CI secrets) to share the AppId's
# 10 calls/s with every runner; unset, jobs on one machine share it through the user's cache directory.
set -euo pipefail
action=${1:?usage: deploy.sh up|destroy STACK}
stack=${2:?usage: deploy.sh up|destroy STACK}
: "${ZEGO_APP_ID:?set ZEGO_APP_ID from the CI secret store}"
: "${ZEGO_SERVER_SECRET:?set ZEGO_SERVER_SECRET from the CI secret store}"

pulumi stack select --create "$stack" --non-interactive
case "$action" in
  up)      pulumi up --yes --non-interactive --stack "$stack" ;;
  destroy) pulumi destroy --yes --non-interactive --stack "$stack" ;;
  *)       echo "deploy.sh: unknown action $action (up or destroy)" >&2; exit 2 ;;
esac
