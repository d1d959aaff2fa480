#!/usr/bin/env bash
# Packaged, gate off: 1 revoke preemption, 2 successor killed DELAY s after the revoke,
# 3 leader SIGKILLed with a second candidate alive, 4 explain in each state.
# Usage: DELAY=9.5|0|11|lead RUN=name bench/results/2026-12-04-packaged-gate-off.sh
#   DELAY=lead: scenario 1 to the end, then 3; a number: 2 with that delay. PACKAGED= runs the sources;
#   AGENT=npm pairs each elector with `npm run agent` instead of the bundle (dist/agent.mjs's build).
#   Healthz ports 10361-10363; state under $STATE (default /tmp/packoff-state).
set -u
W=$(cd "$(dirname "$0")/../.." && pwd); cd $W
S=${STATE:-/tmp/packoff-state}/${RUN:-r}; rm -rf $S; mkdir -p $S
ms() { date +%s%3N; }
t() { date +%T.%3N; }
cleanup() {
  for f in $S/*.pid; do [ -f "$f" ] && kill -9 $(cat $f) 2>/dev/null; done
  pkill -f "$S/" 2>/dev/null
  [ -n "${START:-}" ] && kill -INT $START 2>/dev/null && sleep 3
  npm run --silent clusters -- down --state-dir $S > /dev/null 2>&1
  pkill -f "clusters $S/clusters.yaml"; pkill -f "$S/"; true
}
trap cleanup EXIT
npm run --silent clusters -- up --count 2 --state-dir $S > $S/up.log 2>&1 || { cat $S/up.log; exit 1; }
npm start -- ${PACKAGED---packaged} --port 0 --clusters $S/clusters.yaml > $S/start.log 2>&1 &
START=$!; echo $START > $S/start.pid.keep
go -C test/e2e/candidate build -trimpath -o $S/elector .
node -e "import('$W/scripts/bundle-agent.mjs').then(m => m.bundleAgent('$S/agent.mjs'))"
KC=$S/admin.kubeconfig
pair() { # cluster identity emulation port
  $S/elector --kubeconfig $KC --context $1 --namespace default --lease demo --identity $2 --binary-version 1.35.0 \
    --emulation-version $3 --register-candidate=false --healthz-address 127.0.0.1:$4 > $S/elector-$2.log 2>&1 &
  echo $! > $S/elector-$2.pid
  if [ "${AGENT:-bundle}" = npm ]; then
    npm run --silent agent -- --kubeconfig $KC --context $1 --namespace default --lease demo --identity $2 \
      --binary-version 1.35.0 --emulation-version $3 --health-url http://127.0.0.1:$4/healthz > $S/agent-$2.log 2>&1 &
  else
    node $S/agent.mjs --kubeconfig $KC --context $1 --namespace default --lease demo --identity $2 \
      --binary-version 1.35.0 --emulation-version $3 --health-url http://127.0.0.1:$4/healthz > $S/agent-$2.log 2>&1 &
  fi
  echo $! > $S/agent-$2.pid
}
holder() { kubectl --kubeconfig $KC --context $1 -n default get lease demo -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
started() { grep -c '"started"' $S/elector-$1.log; }
startedAt() { grep '"started"' $S/elector-$1.log | tail -1 | sed 's/.*"at":\([0-9]*\).*/\1/'; }
for c in cluster-a cluster-b; do  # every change of each cluster's Lease, timestamped
  (kubectl --kubeconfig $KC --context $c -n default get leases --field-selector metadata.name=demo -w 2>/dev/null -o jsonpath='{.spec.holderIdentity}{" "}{.spec.leaseTransitions}{" "}{.metadata.annotations}{"\n"}' \
    | while IFS= read -r l; do echo "$(ms) $(t) $l"; done > $S/watch-$c.log) &
done
for c in cluster-a cluster-b; do  # every renewal and ping of each cluster's LeaseCandidates (the CRD), timestamped
  (kubectl --kubeconfig $KC --context $c -n default get leasecandidates.coordination.lease-coordinator.dev -w 2>/dev/null -o jsonpath='{.metadata.name}{" renew="}{.spec.renewTime}{" ping="}{.spec.pingTime}{"\n"}' \
    | while IFS= read -r l; do echo "$(ms) $(t) $l"; done > $S/cands-$c.log) &
done
until grep -q "Ctrl-C" $S/start.log; do sleep 1; kill -0 $START 2>/dev/null || { cat $S/start.log; exit 1; }; done
DDB=$(sed -n 's/.*DynamoDB Local  \(http[^ ]*\)  (table \([^)]*\)).*/\1/p' $S/start.log)
TABLE=$(sed -n 's/.*DynamoDB Local  \(http[^ ]*\)  (table \([^)]*\)).*/\2/p' $S/start.log)
explain() { echo "=== explain: $1 ($(t))"; npm run --silent cli -- explain default/demo --endpoint $DDB --table $TABLE 2>&1; npm run --silent cli -- status --endpoint $DDB --table $TABLE 2>&1; } 
echo "$(t) coordinator up: $DDB $TABLE"
T0=$(ms); pair cluster-a demo-a 1.34.0 10361
for i in $(seq 120); do [ "$(started demo-a)" -ge 1 ] && break; sleep 0.5; done
echo "$(t) demo-a leads: cluster-a=$(holder cluster-a) ($(( $(startedAt demo-a) - T0 )) ms after its pair started)"
explain "demo-a leads alone" > $S/explain-1.txt
T1=$(ms); pair cluster-b demo-b 1.33.0 10362
for i in $(seq 240); do [ "$(holder cluster-a)" = lease-coordinator.dev/revoked ] && break; sleep 0.25; done
TR=$(ms); echo "$(t) revoked: cluster-a=$(holder cluster-a) ($(( TR - T1 )) ms after demo-b's pair started, poll 0.25 s)"
explain "demo-a revoked" > $S/explain-2.txt & E2=$!
if [ "${DELAY}" = lead ]; then  # scenario 1 to the end: demo-b leads
  for i in $(seq 240); do [ "$(started demo-b)" -ge 1 ] && break; sleep 0.25; done
  echo "$(t) demo-b leads ($(( $(startedAt demo-b) - T1 )) ms after its pair started, $(( $(startedAt demo-b) - TR )) ms after the revoke was seen)"
  explain "demo-b leads" > $S/explain-3.txt
  # 3: failover: a second candidate alive (demo-c, equal to demo-a), then the leader killed
  pair cluster-a demo-c 1.34.0 10363
  for i in $(seq 60); do kubectl --kubeconfig $KC --context cluster-a -n default get leasecandidates.coordination.lease-coordinator.dev demo-c >/dev/null 2>&1 && break; sleep 0.5; done
  sleep 5
  TK=$(ms); kill -9 $(cat $S/elector-demo-b.pid) $(cat $S/agent-demo-b.pid); echo "$(t) killed demo-b (SIGKILL elector+agent)"
  explain "leader demo-b just killed" > $S/explain-4.txt & E4=$!
  for i in $(seq 240); do [ "$(started demo-a)" -ge 2 ] || [ "$(started demo-c)" -ge 1 ] && break; sleep 0.25; done
  for p in demo-a demo-c; do echo "$p started: $(started $p)"; done
  N=demo-a; [ "$(started demo-c)" -ge 1 ] && N=demo-c
  echo "$(t) $N leads after failover: $(( $(startedAt $N) - TK )) ms after the kill"
  explain "after failover, $N leads" > $S/explain-5.txt
  wait $E2 $E4
else
  sleep $DELAY
  echo "$(t) candidate demo-b before kill: $(kubectl --kubeconfig $KC --context cluster-b -n default get leasecandidates.coordination.lease-coordinator.dev demo-b -o jsonpath='renew={.spec.renewTime} ping={.spec.pingTime}')"
  TK=$(ms); kill -9 $(cat $S/elector-demo-b.pid) $(cat $S/agent-demo-b.pid); echo "$(t) killed demo-b $(( TK - TR )) ms after the revoke was seen (SIGKILL elector+agent)"
  explain "demo-b just killed" > $S/explain-3.txt & E3=$!
  for i in $(seq 360); do [ "$(started demo-a)" -ge 2 ] && break; sleep 0.25; done
  [ "$(started demo-a)" -ge 2 ] && echo "$(t) demo-a leads again: $(( $(startedAt demo-a) - TR )) ms after the revoke was seen, $(( $(startedAt demo-a) - TK )) ms after the kill" || echo "$(t) demo-a NOT leading again 90 s after kill"
  echo "demo-b started: $(started demo-b)"
  explain "demo-a leads again" > $S/explain-4.txt
  wait $E2 $E3
fi
echo "final: cluster-a=$(holder cluster-a) cluster-b=$(holder cluster-b)"
