#!/usr/bin/env bash
# Apache Kafka (KRaft, single node) for the micro-broker-kafka real-server tests.
#
#   scripts/servers/kafka.sh install   resolve the broker jars from Maven Central (idempotent)
#   scripts/servers/kafka.sh lib       print the directory holding the jars
#
# The jars land in a git-ignored cache; the test fixture starts and stops the server itself.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-3.9.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
POM="$ROOT/plugins/broker-kafka/tests/kafka/pom.xml"
CACHE="${MICRO_TEST_SERVERS_CACHE:-$HOME/.cache/micro-test-servers}"
LIB="$CACHE/kafka-$KAFKA_VERSION/lib"

install() {
    if [ -f "$LIB/.complete" ]; then
        echo "kafka $KAFKA_VERSION: jars already in $LIB"
        return
    fi
    if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
        apt-get update
        apt-get install -y --no-install-recommends openjdk-17-jre-headless maven
    fi
    rm -rf "$LIB"
    mkdir -p "$LIB"
    mvn -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$LIB"
    touch "$LIB/.complete"
    echo "kafka $KAFKA_VERSION: jars in $LIB"
}

case "${1:-}" in
    install) install ;;
    lib) echo "$LIB" ;;
    *) echo "usage: $0 install|lib" >&2; exit 2 ;;
esac
