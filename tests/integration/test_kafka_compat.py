"""Debian's librdkafka 2.0.2 against our Kafka 4.3.1 broker: compressed
produce, the idempotent producer, a cooperative-sticky group and
transactions (see kafka_compat.c)."""
import os
import subprocess
from pathlib import Path


def test_librdkafka_talks_to_the_broker(stack):
    script = Path(__file__).with_name("kafka_compat.sh")
    env = dict(os.environ, PARLEY_KAFKA_BROKERS=stack.config.kafka_brokers)
    r = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "kafka_compat: OK" in r.stdout
