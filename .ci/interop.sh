#!/usr/bin/env bash
# Interop suite: installs nginx, Apache httpd, h2o and Caddy from Debian's
# packages when they are missing, then runs internal/interop (build tag
# interop), which starts each server on loopback ports with a configuration
# of its own and runs the pool against it, and the HTTP/3 interop tests
# against Caddy, which live in the http3 module (they need quic-go). A
# server that cannot be installed is skipped by the tests with a message
# saying so; under CI=true it fails the run instead.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have nginx || missing+=(nginx)
have apache2 || missing+=(apache2)
have h2o || missing+=(h2o)
have caddy || missing+=(caddy)

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		echo "== apt-get install ${missing[*]}"
		apt-get update -qq
		available=()
		for pkg in "${missing[@]}"; do
			# No pipe into grep -q: under pipefail, apt-cache dying of
			# SIGPIPE once grep has its match would read as "not available".
			policy_out=$(apt-cache policy "$pkg" 2>/dev/null || true)
			if [[ $policy_out =~ Candidate:\ [0-9] ]]; then
				available+=("$pkg")
			elif [ "${CI:-}" = true ]; then
				echo "interop: package $pkg is not available here: CI cannot run its suite" >&2
				exit 1
			else
				echo "interop: package $pkg is not available here; its tests will be skipped" >&2
			fi
		done
		if [ ${#available[@]} -gt 0 ]; then
			# The tests start their own servers: keep the packages from
			# starting theirs on port 80.
			policy=/usr/sbin/policy-rc.d
			added_policy=
			if [ ! -e "$policy" ]; then
				printf '#!/bin/sh\nexit 101\n' >"$policy"
				chmod +x "$policy"
				added_policy=1
			fi
			apt-get install -y -qq --no-install-recommends "${available[@]}" >/dev/null
			if [ -n "$added_policy" ]; then rm -f "$policy"; fi
		fi
	else
		echo "interop: ${missing[*]} missing and cannot be installed (root and apt-get needed); their tests will be skipped" >&2
		[ "${CI:-}" = true ] && exit 1
	fi
fi
if [ "${CI:-}" = true ]; then
	for server in nginx apache2 h2o caddy; do
		if ! have "$server"; then
			echo "interop: $server is still missing after the install step: CI fails" >&2
			exit 1
		fi
	done
fi

echo "== interop suite"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -race -tags interop -count=1 -timeout 9m -v ./internal/interop/ | tee "$log" || status=$?
echo "== HTTP/3 interop (http3 module, Caddy)"
(cd http3 && go test -race -tags interop -count=1 -timeout 5m -v -run Caddy .) | tee -a "$log" || status=$?

echo "== interop results"
grep -o 'RESULT .*' "$log" | sed 's/^RESULT //' || true
grep -E -- '--- SKIP' "$log" || true
# A skip for a server capability stays a skip; one for a missing server
# (the tests fail it themselves in CI) must not pass unseen either.
if [ "${CI:-}" = true ] && grep -q 'is not installed' "$log"; then
	echo "interop: a server was missing: in CI that fails the run" >&2
	status=1
fi
exit "$status"
