package codestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/fngate/fngate/shared/subject"
)

// Errors of the store.
var (
	// ErrFunctionNotFound: no version of the function was ever deployed.
	ErrFunctionNotFound = errors.New("no code deployed for this function")
	// ErrVersionNotFound: the function has no such version.
	ErrVersionNotFound = errors.New("no such version of the function's code")
)

// Version is one uploaded archive of a function.
type Version struct {
	Version int64  `json:"version"`
	Object  string `json:"object"` // its name in subject.BucketCode
	Size    int64  `json:"size"`   // bytes of the archive
	SHA256  string `json:"sha256"` // of the archive, hex
	// Files and UnpackedBytes are what it unpacks to.
	Files         int       `json:"files"`
	UnpackedBytes int64     `json:"unpackedBytes"`
	Created       time.Time `json:"created"`
}

// Function is the deployed code of one function: its versions, oldest
// first, and the one its workers serve.
type Function struct {
	Name     string    `json:"name"`
	Current  int64     `json:"current"`
	Versions []Version `json:"versions"`
	// Updated is when Current last changed (a deploy or a rollback).
	Updated time.Time `json:"updated"`
}

// Version returns version v of f, or nil.
func (f *Function) Version(v int64) *Version {
	i := slices.IndexFunc(f.Versions, func(x Version) bool { return x.Version == v })
	if i < 0 {
		return nil
	}
	return &f.Versions[i]
}

// Config configures the store's buckets.
type Config struct {
	// Replicas of both buckets (default 1).
	Replicas int
}

// Store keeps function code in JetStream: the archives in an Object Store
// bucket, each function's versions in a Key-Value bucket, so that any
// gateway can deploy and every worker can watch and fetch, with no disk
// shared between them.
type Store struct {
	obj jetstream.ObjectStore
	kv  jetstream.KeyValue
}

// Open creates the buckets when they are missing and returns the store.
// Gateways and workers both call it; whichever comes first creates them.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	replicas := max(cfg.Replicas, 1)
	obj, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: subject.BucketCode, Description: "fngate: function code archives", Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("codestore: bucket %s: %w", subject.BucketCode, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: subject.BucketCodeVersions, Description: "fngate: versions of deployed functions", Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("codestore: bucket %s: %w", subject.BucketCodeVersions, err)
	}
	return &Store{obj: obj, kv: kv}, nil
}

// Bind returns the store on buckets that exist already (made by a
// gateway's Open): workers, which may read the code but not write it, bind.
func Bind(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	obj, err := js.ObjectStore(ctx, subject.BucketCode)
	if err != nil {
		return nil, fmt.Errorf("codestore: bucket %s: %w", subject.BucketCode, err)
	}
	kv, err := js.KeyValue(ctx, subject.BucketCodeVersions)
	if err != nil {
		return nil, fmt.Errorf("codestore: bucket %s: %w", subject.BucketCodeVersions, err)
	}
	return &Store{obj: obj, kv: kv}, nil
}

// Put stores archive (checked by Check, which gave sum) as the next
// version of function name and makes it the current one. Version numbers
// only grow, also across gateways deploying at once.
func (s *Store) Put(ctx context.Context, name string, archive []byte, sum *Summary) (*Function, error) {
	object, err := subject.CodeObject(name, nuid.Next())
	if err != nil {
		return nil, err
	}
	// The archive goes in first, under a name of its own (two uploads may
	// race for a version number; one of them retries with the next): a
	// version recorded is always there to fetch.
	if _, err := s.obj.PutBytes(ctx, object, archive); err != nil {
		return nil, fmt.Errorf("codestore: store archive: %w", err)
	}
	hash := sha256.Sum256(archive)
	return s.update(ctx, name, true, func(f *Function) error {
		next := int64(1)
		if n := len(f.Versions); n > 0 {
			next = f.Versions[n-1].Version + 1
		}
		f.Versions = append(f.Versions, Version{
			Version: next, Object: object, Size: int64(len(archive)), SHA256: hex.EncodeToString(hash[:]),
			Files: sum.Files, UnpackedBytes: sum.Bytes, Created: time.Now().UTC(),
		})
		f.Current = next
		return nil
	})
}

// Rollback makes version v of function name the current one again.
func (s *Store) Rollback(ctx context.Context, name string, v int64) (*Function, error) {
	return s.update(ctx, name, false, func(f *Function) error {
		if f.Version(v) == nil {
			return fmt.Errorf("%w: %s has no version %d", ErrVersionNotFound, name, v)
		}
		f.Current = v
		return nil
	})
}

// update applies change to function name's record with compare-and-set,
// again when another writer came first.
func (s *Store) update(ctx context.Context, name string, create bool, change func(*Function) error) (*Function, error) {
	if !subject.ValidFunction(name) {
		return nil, fmt.Errorf("codestore: %w: %q", subject.ErrInvalidFunction, name)
	}
	for attempt := 0; ; attempt++ {
		f, rev, err := s.get(ctx, name)
		switch {
		case errors.Is(err, ErrFunctionNotFound) && create:
			f = &Function{Name: name}
		case err != nil:
			return nil, err
		}
		if err := change(f); err != nil {
			return nil, err
		}
		f.Updated = time.Now().UTC()
		b, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, name, b)
		} else {
			_, err = s.kv.Update(ctx, name, b, rev)
		}
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, jetstream.ErrKeyExists) && attempt < 100:
			continue // another deploy or rollback came first
		default:
			return nil, fmt.Errorf("codestore: record %s: %w", name, err)
		}
	}
}

// Function returns the versions of function name.
func (s *Store) Function(ctx context.Context, name string) (*Function, error) {
	if !subject.ValidFunction(name) {
		return nil, fmt.Errorf("codestore: %w: %q", subject.ErrInvalidFunction, name)
	}
	f, _, err := s.get(ctx, name)
	return f, err
}

func (s *Store) get(ctx context.Context, name string) (*Function, uint64, error) {
	e, err := s.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, fmt.Errorf("%w: %s", ErrFunctionNotFound, name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("codestore: record %s: %w", name, err)
	}
	f, err := decode(e.Value())
	return f, e.Revision(), err
}

func decode(b []byte) (*Function, error) {
	var f Function
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("codestore: bad record: %w", err)
	}
	return &f, nil
}

// Archive returns the archive of version v.
func (s *Store) Archive(ctx context.Context, v *Version) ([]byte, error) {
	b, err := s.obj.GetBytes(ctx, v.Object)
	if err != nil {
		return nil, fmt.Errorf("codestore: archive %s: %w", v.Object, err)
	}
	return b, nil
}

// Watch sends every function's record now, then each change, until ctx
// ends (the channel is closed then).
func (s *Store) Watch(ctx context.Context) (<-chan *Function, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("codestore: watch: %w", err)
	}
	out := make(chan *Function)
	go func() {
		defer close(out)
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil || e.Operation() != jetstream.KeyValuePut {
					continue // the end of the initial values; deletes
				}
				f, err := decode(e.Value())
				if err != nil {
					continue
				}
				select {
				case out <- f:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
