package store

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/store/storetest"
	"github.com/fngate/fngate/shared/testenv"
)

// TestRedis runs the conformance suite on a single server; TestCluster,
// TestClusterFailover and the Sentinel tests run it on theirs.
func TestRedis(t *testing.T) {
	t.Parallel()
	runSuite(t, testenv.StartRedis(t).Client())
}

// runSuite runs the conformance suite on rdb, emptying it before each
// subtest. The route table goes last, so its keys are there afterwards.
func runSuite(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 20*time.Second, "redis answers", func() bool {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return rdb.Ping(c).Err() == nil
	})
	empty := func(t *testing.T) {
		t.Helper()
		var err error
		if c, ok := rdb.(*redis.ClusterClient); ok {
			err = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return n.FlushAll(ctx).Err() })
		} else {
			err = rdb.FlushAll(ctx).Err()
		}
		if err != nil {
			t.Fatalf("emptying redis: %v", err)
		}
	}
	t.Run("Invocations", func(t *testing.T) {
		storetest.TestInvocations(t, func(t *testing.T) storetest.Invocations { empty(t); return newInvocations(t, rdb) })
	})
	t.Run("Idempotency", func(t *testing.T) {
		storetest.TestIdempotency(t, func(t *testing.T) storetest.Idempotency { empty(t); return newIdempotency(t, rdb) })
	})
	t.Run("Routes", func(t *testing.T) {
		storetest.TestRoutes(t, func(t *testing.T) storetest.Routes { empty(t); return NewRoutes(rdb) })
	})
}

// newInvocations and newIdempotency return stores on rdb, closed when
// the test ends.
func newInvocations(t *testing.T, rdb redis.UniversalClient) *Invocations {
	s := NewInvocations(rdb, time.Hour)
	t.Cleanup(s.Close)
	return s
}

func newIdempotency(t *testing.T, rdb redis.UniversalClient) *Idempotency {
	s := NewIdempotency(rdb, time.Hour)
	t.Cleanup(s.Close)
	return s
}
