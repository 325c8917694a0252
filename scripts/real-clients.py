#!/usr/bin/env python3
"""Real Kafka clients other than librdkafka-in-Rust against `groupcheck serve`: kafka-python,
confluent-kafka (Python, its own librdkafka) and kafkajs, each in a small scenario.

Run from the repository root: `python3 scripts/real-clients.py [CLIENT ...]` (clients:
kafka-python, confluent-kafka, kafkajs; default all). It installs the clients itself, under
target/real-clients/ (a Python venv with pip, a node_modules with npm), builds groupcheck, and
for each client: starts `groupcheck serve` on a free 127.0.0.1 port, produces 30 records over 3
partitions with the client, runs 3 consumers of one group until every record is consumed,
closes them, stops the server (Ctrl-C) and reads its verdict. It prints a Markdown table:
protocol the group selected, time until all 3 consumers had an assignment, records consumed,
duplicates, and the server's verdict. About a minute in all once installed.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "target", "real-clients")
VENV = os.path.join(WORK, "venv")
PY = os.path.join(VENV, "bin", "python")

# Each scenario prints one JSON line: {"formed_s", "consumed", "distinct", "duplicates"}.
PYTHON_KAFKA = r'''
import json, sys, threading, time
from kafka import KafkaConsumer, KafkaProducer
bs, topic = sys.argv[1], "orders"
p = KafkaProducer(bootstrap_servers=bs)
for i in range(30):
    p.send(topic, key=b"k%d" % i, value=b"r%d" % i, partition=i % 3)
p.flush(); p.close()
seen, assigned, lock = {}, {}, threading.Lock()
start = time.time()
def run(n):
    c = KafkaConsumer(topic, bootstrap_servers=bs, group_id="checkout",
                      auto_offset_reset="earliest", session_timeout_ms=6000,
                      heartbeat_interval_ms=500, auto_commit_interval_ms=200)
    end = time.time() + 30
    while time.time() < end and (len(seen) < 30 or len(assigned) < 3):
        for tp, records in c.poll(timeout_ms=200).items():
            for r in records:
                with lock:
                    seen[r.value] = seen.get(r.value, 0) + 1
        if c.assignment() and n not in assigned:
            assigned[n] = time.time() - start
    c.close()
ts = [threading.Thread(target=run, args=(n,)) for n in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"formed_s": max(assigned.values()) if len(assigned) == 3 else None,
                  "consumed": sum(seen.values()), "distinct": len(seen),
                  "duplicates": sum(seen.values()) - len(seen)}))
'''

CONFLUENT_KAFKA = r'''
import json, sys, threading, time
from confluent_kafka import Consumer, Producer
bs, topic = sys.argv[1], "orders"
p = Producer({"bootstrap.servers": bs})
for i in range(30):
    p.produce(topic, key=b"k%d" % i, value=b"r%d" % i, partition=i % 3)
p.flush(10)
seen, assigned, lock = {}, {}, threading.Lock()
start = time.time()
def run(n):
    c = Consumer({"bootstrap.servers": bs, "group.id": "checkout",
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, "auto.commit.interval.ms": 200,
                  "partition.assignment.strategy": "cooperative-sticky"})
    c.subscribe([topic])
    end = time.time() + 30
    while time.time() < end and (len(seen) < 30 or len(assigned) < 3):
        m = c.poll(0.2)
        if m is not None and not m.error():
            with lock:
                seen[m.value()] = seen.get(m.value(), 0) + 1
        if c.assignment() and n not in assigned:
            assigned[n] = time.time() - start
    c.close()
ts = [threading.Thread(target=run, args=(n,)) for n in range(3)]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps({"formed_s": max(assigned.values()) if len(assigned) == 3 else None,
                  "consumed": sum(seen.values()), "distinct": len(seen),
                  "duplicates": sum(seen.values()) - len(seen)}))
'''

KAFKAJS = r'''
const { Kafka, logLevel } = require("kafkajs");
const bs = process.argv[2], topic = "orders";
const kafka = new Kafka({ brokers: bs.split(","), logLevel: logLevel.NOTHING });
(async () => {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic, messages: [...Array(30).keys()].map(i =>
    ({ key: "k" + i, value: "r" + i, partition: i % 3 })) });
  await producer.disconnect();
  const seen = new Map(), assigned = new Map(), start = Date.now();
  const consumers = [0, 1, 2].map(() => kafka.consumer({ groupId: "checkout",
    sessionTimeout: 6000, heartbeatInterval: 500 }));
  await Promise.all(consumers.map(async (c, n) => {
    c.on(c.events.GROUP_JOIN, () => { if (!assigned.has(n)) assigned.set(n, (Date.now() - start) / 1000); });
    await c.connect();
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => {
      const v = message.value.toString(); seen.set(v, (seen.get(v) || 0) + 1); } });
  }));
  const end = Date.now() + 30000;
  while (Date.now() < end && (seen.size < 30 || assigned.size < 3)) await new Promise(r => setTimeout(r, 100));
  await new Promise(r => setTimeout(r, 500));
  await Promise.all(consumers.map(c => c.disconnect()));
  const consumed = [...seen.values()].reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ formed_s: assigned.size === 3 ? Math.max(...assigned.values()) : null,
    consumed, distinct: seen.size, duplicates: consumed - seen.size }));
})().catch(e => { console.error(e); process.exit(1); });
'''


def sh(*args, **kw):
    subprocess.run(args, check=True, **kw)


def install(clients):
    os.makedirs(WORK, exist_ok=True)
    if {"kafka-python", "confluent-kafka"} & set(clients):
        if not os.path.exists(PY):
            sh(sys.executable, "-m", "venv", VENV)
        sh(PY, "-m", "pip", "install", "-q", "kafka-python==3.0.*", "confluent-kafka==2.16.*")
    if "kafkajs" in clients:
        node = os.path.join(WORK, "node")
        os.makedirs(node, exist_ok=True)
        if not os.path.exists(os.path.join(node, "node_modules", "kafkajs")):
            sh("npm", "install", "--silent", "--prefix", node, "kafkajs@2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(client):
    port = free_port()
    server = subprocess.Popen(
        [os.path.join(ROOT, "target", "release", "groupcheck"), "serve", "--port", str(port),
         "--seconds", "120", "--partitions", "3", "--topic", "orders",
         "--session-timeout-ms", "6000", "--rebalance-timeout-ms", "6000"],
        stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    bootstrap = "127.0.0.1:%d" % port
    if client == "kafkajs":
        path = os.path.join(WORK, "node", "scenario.js")
        open(path, "w").write(KAFKAJS)
        command = ["node", path, bootstrap]
    else:
        path = os.path.join(WORK, client + ".py")
        open(path, "w").write(PYTHON_KAFKA if client == "kafka-python" else CONFLUENT_KAFKA)
        command = [PY, path, bootstrap]
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, NODE_PATH=os.path.join(WORK, "node", "node_modules")))
    took = time.time() - started
    server.send_signal(signal.SIGINT)
    out, _ = server.communicate(timeout=30)
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else {"error": done.stderr.strip()[-300:]}
    protocols = sorted({l.split("(")[1].split(")")[0] for l in out.splitlines()
                        if " Stable at generation " in l and "(" in l})
    verdict = "no violation" if "no violation" in out else \
        "; ".join(l.strip() for l in out.splitlines() if l.startswith("VIOLATION")) or "no verdict"
    findings = [l.strip() for l in out.splitlines() if l.startswith("CLIENT")]
    return result, protocols, verdict, findings, took, server.returncode


def main():
    clients = sys.argv[1:] or ["kafka-python", "confluent-kafka", "kafkajs"]
    install(clients)
    sh("cargo", "build", "--release", "--quiet", cwd=ROOT)
    print("| client | protocol | all 3 assigned after | records (distinct of 30) | duplicates | scenario | server verdict |")
    print("|---|---|---|---|---|---|---|")
    failed = False
    for client in clients:
        result, protocols, verdict, findings, took, code = run(client)
        if "error" in result:
            print("| %s | | | | | failed: %s | %s |" % (client, result["error"], verdict))
            failed = True
            continue
        formed = "%.2f s" % result["formed_s"] if result["formed_s"] is not None else "not all"
        print("| %s | %s | %s | %d (%d) | %d | %.1f s | %s%s |" % (
            client, ", ".join(protocols), formed, result["consumed"], result["distinct"],
            result["duplicates"], took, verdict,
            "; " + "; ".join(findings) if findings else ""))
        failed |= code != 0 or result["distinct"] != 30
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
