package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/route"
)

// Functions keeps function settings (route.Function), read by workers.
type Functions struct{ rdb redis.UniversalClient }

// NewFunctions returns the function settings store on rdb.
func NewFunctions(rdb redis.UniversalClient) *Functions { return &Functions{rdb: rdb} }

// Put stores f's settings; settings all zero remove them.
func (s *Functions) Put(ctx context.Context, f route.Function) error {
	var err error
	if f.MaxConcurrency == 0 {
		err = s.rdb.HDel(ctx, keyFunctions, f.Name).Err()
	} else {
		b, _ := json.Marshal(f)
		err = s.rdb.HSet(ctx, keyFunctions, f.Name, b).Err()
	}
	if err != nil {
		return fmt.Errorf("store: function %s: %w", f.Name, err)
	}
	return nil
}

// Get returns the settings of function name (zero ones when it has none).
func (s *Functions) Get(ctx context.Context, name string) (route.Function, error) {
	f := route.Function{Name: name}
	b, err := s.rdb.HGet(ctx, keyFunctions, name).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return f, nil
	case err != nil:
		return f, fmt.Errorf("store: function %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("store: function %s: %w", name, err)
	}
	f.Name = name
	return f, nil
}

// List returns every function with settings, by name.
func (s *Functions) List(ctx context.Context) ([]route.Function, error) {
	m, err := s.rdb.HGetAll(ctx, keyFunctions).Result()
	if err != nil {
		return nil, fmt.Errorf("store: functions: %w", err)
	}
	out := make([]route.Function, 0, len(m))
	for name, v := range m {
		f := route.Function{Name: name}
		if json.Unmarshal([]byte(v), &f) == nil {
			f.Name = name
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
