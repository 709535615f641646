#!/usr/bin/env bash
# What the tests run that pip cannot install: a C compiler, Java 17 for Spark (local mode)
# and PostgreSQL's server binaries (the tests start a throwaway cluster themselves).
# Installs with apt-get only what is missing; needs root (or sudo) when something is.
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends "${need[@]}"
fi
