package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/fngate/fngate/shared/route"
)

var fileKeys = []string{keyRoutes, keyRoutesVersion, keyRoutesFile}

var (
	// ARGV: digest. 1 when the file applied last had this digest and the
	// table has not changed since (its version is the one recorded).
	fileUnchangedScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[3], 'digest', 'version')
local cur = redis.call('GET', KEYS[2]) or '0'
if f[1] == ARGV[1] and f[2] == cur then return 1 end
return 0`)
	// ARGV: digest, version. Recorded only when the table is at version:
	// a change made by anyone between the file's diff and now would
	// otherwise be taken for the file's.
	fileRecordScript = redis.NewScript(`
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[3], 'digest', ARGV[1], 'version', ARGV[2])
return 1`)
)

// FileResult says what [Routes.ApplyFile] did.
type FileResult struct {
	// Unchanged: the store held the table this very file made and nothing
	// changed it since; the file was neither parsed nor compared.
	Unchanged bool
	// Written is the number of versions the file's differences made.
	Written int
}

// FileError is a routes file [Routes.ApplyFile] could not parse or
// validate: applying it again cannot succeed.
type FileError struct{ Err error }

func (e *FileError) Error() string { return e.Err.Error() }

// Unwrap returns the parse error (a *route.FieldError wrapping
// route.ErrInvalid for a route that does not validate).
func (e *FileError) Unwrap() error { return e.Err }

// ApplyFile applies a routes file (the bytes [route.ParseFile] reads) as
// Put does: only routes that differ are written. It remembers the file's
// digest with the table's version afterwards, so that the same file
// applied again while the table is still at that version (a gateway
// restarted, or all of them) costs one round trip: at 100,000 routes the
// parse alone takes seconds for YAML. Any change to the table since, by
// whoever, makes the next application compare the whole file again.
func (s *Routes) ApplyFile(ctx context.Context, data []byte) (FileResult, error) {
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	same, err := fileUnchangedScript.Run(ctx, s.rdb, fileKeys, digest).Int()
	if err != nil {
		return FileResult{}, fmt.Errorf("store: routes file: %w", err)
	}
	if same == 1 {
		return FileResult{Unchanged: true}, nil
	}
	rs, err := route.ParseFile(data)
	if err != nil {
		return FileResult{}, &FileError{err}
	}
	before, err := s.Version(ctx)
	if err != nil {
		return FileResult{}, err
	}
	_, batches, err := s.apply(ctx, rs, nil)
	if err != nil {
		return FileResult{}, err
	}
	after := strconv.FormatInt(before+int64(batches), 10)
	if err := fileRecordScript.Run(ctx, s.rdb, fileKeys, digest, after).Err(); err != nil {
		return FileResult{}, fmt.Errorf("store: routes file: %w", err)
	}
	return FileResult{Written: batches}, nil
}
