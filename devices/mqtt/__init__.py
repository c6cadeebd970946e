"""MQTT: the broker link and the payloads of every topic (docs/mqtt.md)."""
