// Command candidate is an unmodified client-go coordinated leader-election candidate: it
// registers a LeaseCandidate with leaderelection.NewCandidate and runs a LeaderElector with
// Coordinated: true and ReleaseOnCancel, exactly as kube-scheduler does. It prints one JSON line
// per callback so the compatibility test can rebuild every interval in which it led.
// With --coordinated=false it is a legacy elector instead (no LeaseCandidate, Coordinated: false),
// as a component that predates CLE or runs with the gate off, for the upgrade and downgrade scenarios.
// With --register-candidate=false it runs the coordinated elector without NewCandidate: what an
// unmodified elector amounts to where the gate is off (NewCandidate cannot register there), with the
// lease-coordinator agent registering it instead. --healthz-address serves GET /healthz, as
// kube-scheduler does, for the agent's --health-url.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

func event(kind, identity string) {
	line, _ := json.Marshal(map[string]any{"event": kind, "identity": identity, "at": time.Now().UnixMilli()})
	os.Stdout.Write(append(line, '\n'))
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig path")
	kubeContext := flag.String("context", "", "kubeconfig context")
	namespace := flag.String("namespace", "default", "namespace of the Lease and LeaseCandidate")
	lease := flag.String("lease", "", "Lease name")
	identity := flag.String("identity", "", "candidate identity (LeaseCandidate name)")
	binaryVersion := flag.String("binary-version", "", "binary version")
	emulationVersion := flag.String("emulation-version", "", "emulation version")
	strategy := flag.String("strategy", "OldestEmulationVersion", "coordinated lease strategy")
	leaseDuration := flag.Duration("lease-duration", 15*time.Second, "LeaseDuration")
	renewDeadline := flag.Duration("renew-deadline", 10*time.Second, "RenewDeadline")
	retryPeriod := flag.Duration("retry-period", 2*time.Second, "RetryPeriod")
	coordinated := flag.Bool("coordinated", true,
		"false: a legacy elector (no LeaseCandidate, Coordinated: false), as a component without CLE runs")
	registerCandidate := flag.Bool("register-candidate", true,
		"with --coordinated: register a LeaseCandidate with NewCandidate; false leaves it to the agent")
	healthzAddress := flag.String("healthz-address", "", "serve GET /healthz (200) at host:port; empty: none")
	flag.Parse()

	if *healthzAddress != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
		go func() { panic(http.ListenAndServe(*healthzAddress, mux)) }()
	}

	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: *kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: *kubeContext},
	).ClientConfig()
	if err != nil {
		panic(err)
	}
	client := kubernetes.NewForConfigOrDie(config)

	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()

	if *coordinated && *registerCandidate {
		candidate, _, err := leaderelection.NewCandidate(client, *namespace, *identity, *lease,
			*binaryVersion, *emulationVersion, coordinationv1.CoordinatedLeaseStrategy(*strategy))
		if err != nil {
			panic(err)
		}
		go candidate.Run(ctx)
		event("candidate", *identity)
	}

	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: *namespace, Name: *lease},
			Client:     client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: *identity},
		},
		LeaseDuration:   *leaseDuration,
		RenewDeadline:   *renewDeadline,
		RetryPeriod:     *retryPeriod,
		ReleaseOnCancel: true,
		Coordinated:     *coordinated,
		Name:            *lease,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { event("started", *identity) },
			OnStoppedLeading: func() { event("stopped", *identity) },
		},
	})
	if err != nil {
		panic(err)
	}
	// Like kube-scheduler: run until told to stop; after losing the lease, stand again.
	for ctx.Err() == nil {
		elector.Run(ctx)
	}
}
