// Package metrics holds what every package that exports Prometheus metrics
// shares: how a collector is registered.
package metrics

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg, or returns the equal collector already
// registered there, so that two parts built on one registry (two servers in a
// test, a service built twice) share their series. Any other registration
// error is a programming error and panics, as prometheus.MustRegister does.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic("metrics: registering a collector: " + err.Error())
}
