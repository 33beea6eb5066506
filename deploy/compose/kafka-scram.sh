#!/usr/bin/env bash
# Starts the apache/kafka image's broker with one SCRAM-SHA-512 user per Lookout service.
# KRaft keeps SCRAM credentials in its metadata log, so the users are written when the
# storage is formatted (the first start); the image's own launch then finds it formatted.
# A user added later needs `kafka-configs.sh --alter --entity-type users` instead.
set -euo pipefail

/etc/kafka/docker/configure  # KAFKA_* variables -> /etc/kafka/kafka.properties

scram=()
for user in broker migrate ingest aggregator health alerts backup dashboard; do
  variable="SCRAM_PASSWORD_${user^^}"
  password="${!variable:?${variable} is not set}"
  scram+=(--add-scram "SCRAM-SHA-512=[name=lookout-${user},password=${password}]")
done
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "${CLUSTER_ID}" \
  -c /etc/kafka/kafka.properties "${scram[@]}"

# What the healthcheck connects with (the broker's own user).
cat > /tmp/broker-client.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="lookout-broker" password="${SCRAM_PASSWORD_BROKER}";
PROPERTIES

exec /etc/kafka/docker/launch
