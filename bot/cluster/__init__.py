"""A local multi-process deployment: several of each server on loopback, as on several hosts.

``python -m bot cluster`` (bot/commands/cluster.py) and the cluster tests start PostgreSQL,
Redis and nginx (bot/cluster/postgres.py, redis_server.py, nginx.py) and N replicas of each
SapaLapor process behind nginx (start.py), wired exactly as deploy/k8s wires them on a cluster.
"""
