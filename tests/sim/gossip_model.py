#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""
A model of meshgate's gossip (memberlist's SWIM with the Lifeguard
suspicion) at mesh sizes one machine cannot run as real agents.

It uses the engine's own parameters (agent/mesh/life.c start_member, profile
lan; agent/memberlist/suspicion.c for the formulas) and simulates, Monte Carlo,
the two things a mesh operator waits for:

  dissemination  one update (an endpoint change, a suspicion, a death)
                 spread by gossip alone: every gateway that has it sends
                 it, each gossip tick (random phase per gateway), to
                 gossip_nodes random members, until it has been sent
                 retransmit_mult * ceil(log10(N + 1)) times (memberlist's
                 count, for suspicions and deaths) or retransmit_mult *
                 (ceil(log10(N + 1)) + 1) times (the replicated state's
                 rumours, agent/mesh/messages.c).  A gateway gossip left
                 out gets the change from its next anti-entropy round
                 (every ae_interval, to a random gateway that has it).
                 Piggybacking on probes is left out (it only speeds it up).
  failover       a gateway dies at t = 0.  Every other gateway probes its
                 members round-robin, one per probe interval, so its first
                 probe of the dead one falls uniformly in (N - 1) intervals;
                 a failed probe (timeout, indirect probes) suspects it one
                 interval later.  The suspicion's timer starts where the
                 suspect message arrives: max = suspicion_max_mult * min,
                 cut to min = suspicion_mult * max(1, log10 N) * probe
                 interval once k = suspicion_mult - 2 other accusers
                 confirm (the next earliest probers).  The first gateway
                 whose timer fires declares it dead and gossips that;
                 failover ends when the last gateway has it dead (meshgate
                 withdraws the dead gateway's clusters in the same loop).

Prints a table (and JSON with --json): rounds and milliseconds to reach
every member, p50/p99 over trials, failover p50/p99, and the idle bytes
a gateway sends for probes and push/pull (a lower bound: no user state).

usage: gossip_model.py [--trials T] [--sizes 64,255,1000,5000] [--json]
                       [--flat FILE]   (make bench: model_* figures, flat JSON)
"""
import heapq
import json
import math
import random
import sys

# profile lan as agent/mesh/life.c sets it (times in ms)
P = dict(probe_interval=300, probe_timeout=200, suspicion_mult=3,
         suspicion_max_mult=4, retransmit_mult=4, gossip_interval=50,
         gossip_nodes=3, push_pull_interval=30000, latency=0.5,
         ae_interval=2000)


def retransmit_limit(n):
    return P["retransmit_mult"] * math.ceil(math.log10(n + 1))


def state_retransmit_limit(n):
    return P["retransmit_mult"] * (math.ceil(math.log10(n + 1)) + 1)


def suspicion_min(n):
    return P["suspicion_mult"] * max(1.0, math.log10(max(n, 1))) * P["probe_interval"]


def push_pull_scale(n):
    iv = P["push_pull_interval"]
    return iv if n <= 32 else iv * (math.ceil(math.log2(n) - 5) + 1)


def disseminate(n, src, t0, rng, phase, lim=None):
    """Arrival time of one update at every member, from src at t0."""
    lim = lim or retransmit_limit(n)
    gi, k, lat = P["gossip_interval"], P["gossip_nodes"], P["latency"]
    got = [math.inf] * n
    got[src] = t0
    heap = [(t0, src)]
    while heap:
        t, v = heapq.heappop(heap)
        if t > got[v]:
            continue
        # next tick of v's gossip timer after t, then one tick after another
        tick = t + ((phase[v] - t) % gi)
        sent = 0
        while sent < lim:
            for _ in range(k):
                if sent >= lim:
                    break
                w = rng.randrange(n - 1)
                w += w >= v
                sent += 1
                a = tick + lat
                if a < got[w]:
                    got[w] = a
                    heapq.heappush(heap, (a, w))
            tick += gi
    return got


def failover(n, rng):
    """Time from a death until every other member has it dead (ms)."""
    pi = P["probe_interval"]
    dead = n - 1                   # the dead member takes no part
    live = n - 1
    phase = [rng.uniform(0, P["gossip_interval"]) for _ in range(n)]
    # first probe of the dead member by each live one, then suspicion
    probes = sorted((rng.uniform(0, live * pi), i) for i in range(live))
    kk = max(0, P["suspicion_mult"] - 2)
    tmin = suspicion_min(n)
    tmax = P["suspicion_max_mult"] * tmin if kk else tmin

    def spread(src, t):
        got = disseminate(live, src, t, rng, phase)
        return got

    s1_t, s1 = probes[0][0] + pi, probes[0][1]
    start = spread(s1, s1_t)
    confirm = [math.inf] * live
    if kk:
        # the k-th further accuser (k = 1 here) makes the timer min
        ck_t, ck = probes[kk][0] + pi, probes[kk][1]
        confirm = spread(ck, ck_t)
        confirm[ck] = min(confirm[ck], ck_t)
    own = []
    for j in range(live):
        c = confirm[j]
        if c < start[j] + tmax:
            own.append(max(start[j] + tmin, c))
        else:
            own.append(start[j] + tmax)
    first = min(range(live), key=lambda j: own[j])
    news = spread(first, own[first])
    return max(min(own[j], news[j]) for j in range(live))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def idle_bytes(n, member_bytes=150, ping=120, ack=90):
    # a ping and an ack each probe interval (sent and answered), and a
    # push/pull of every member's entry both ways each scaled interval
    probe = (ping + ack) * 1000.0 / P["probe_interval"]
    pp = 2 * n * member_bytes * 1000.0 / push_pull_scale(n)
    return probe + pp


def main():
    sizes = [64, 255, 1000, 5000]
    trials = 40
    as_json = False
    flat = None
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--sizes":
            sizes = [int(x) for x in args.pop(0).split(",")]
        elif a == "--trials":
            trials = int(args.pop(0))
        elif a == "--json":
            as_json = True
        elif a == "--flat":
            flat = args.pop(0)
        else:
            print(__doc__)
            return 2
    rng = random.Random(20261205)
    out = {}
    for n in sizes:
        t = max(5, trials * 64 // n) if n > 255 else trials
        reach, rounds, fo, missed = [], [], [], 0
        for _ in range(t):
            phase = [rng.uniform(0, P["gossip_interval"]) for _ in range(n)]
            got = disseminate(n, rng.randrange(n), 0.0, rng, phase,
                              state_retransmit_limit(n))
            if max(got) == math.inf:
                # gossip alone left someone out: its anti-entropy round
                # (random phase) to a gateway that has it repairs it
                missed += 1
                for w in range(n):
                    if got[w] < math.inf:
                        continue
                    t = rng.uniform(0, P["ae_interval"])
                    while True:
                        peer = rng.randrange(n)
                        if got[peer] <= t and peer != w:
                            got[w] = t + 2 * P["latency"]
                            break
                        t += P["ae_interval"]
            last = max(got)
            reach.append(last)
            rounds.append(last / P["gossip_interval"])
            fo.append(failover(n, rng))
        out[n] = dict(
            trials=t, missed_by_gossip=missed, retransmit_limit=state_retransmit_limit(n),
            suspicion_min_ms=round(suspicion_min(n)),
            suspicion_max_ms=round(P["suspicion_max_mult"] * suspicion_min(n)),
            converge_p50_ms=round(pct(reach, 50)), converge_p99_ms=round(pct(reach, 99)),
            rounds_p50=round(pct(rounds, 50), 1),
            failover_p50_ms=round(pct(fo, 50)), failover_p99_ms=round(pct(fo, 99)),
            push_pull_interval_s=push_pull_scale(n) / 1000,
            idle_bytes_per_s=round(idle_bytes(n)))
    if flat:
        figs = {}
        for n in sizes:
            for c in ("converge_p99_ms", "failover_p50_ms", "failover_p99_ms",
                      "idle_bytes_per_s"):
                figs["model_%s_%d" % (c, n)] = out[n][c]
        with open(flat, "w") as f:
            json.dump(figs, f)
    if as_json:
        print(json.dumps(out, indent=1))
        return 0
    cols = ["trials", "missed_by_gossip", "retransmit_limit", "rounds_p50", "converge_p50_ms",
            "converge_p99_ms", "suspicion_min_ms", "failover_p50_ms",
            "failover_p99_ms", "push_pull_interval_s", "idle_bytes_per_s"]
    print("%-22s" % "members" + "".join("%10d" % n for n in sizes))
    for c in cols:
        print("%-22s" % c + "".join("%10s" % out[n][c] for n in sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
