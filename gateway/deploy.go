package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/codestore"
	"github.com/fngate/fngate/shared/presence"
	"github.com/fngate/fngate/shared/subject"
)

// Deploying function code through the admin API: the archive goes into
// the code store (JetStream), every worker serving the function fetches
// it and switches (package worker/deploy).

// CodeStore keeps deployed function code; *codestore.Store is one.
type CodeStore interface {
	Put(ctx context.Context, name string, archive []byte, sum *codestore.Summary) (*codestore.Function, error)
	Function(ctx context.Context, name string) (*codestore.Function, error)
	Rollback(ctx context.Context, name string, version int64) (*codestore.Function, error)
}

// Errors of deploys.
var (
	ErrDeployDisabled   = errors.New("deploying code is not enabled on this gateway (no JetStream)")
	ErrCodeTooLarge     = errors.New("code archive exceeds FNGATE_MAX_CODE_BYTES")
	ErrCodeUnavailable  = errors.New("the code store (JetStream) is unavailable")
	ErrFunctionNotFound = errors.New("no such function: no code deployed and no live worker serves it")
)

// archiveTypes are the Content-Types of code uploads besides JSON. None
// is one an HTML form can send, so a tokenless admin listener may take
// them as it takes JSON (see tokenlessChange).
var archiveTypes = map[string]bool{
	"application/gzip": true, "application/x-gzip": true, "application/x-tar+gzip": true,
	"application/zip": true, "application/x-zip-compressed": true,
	"application/octet-stream": true,
}

// putCode serves PUT /admin/functions/<name>/code.
func (g *Gateway) putCode(c *gin.Context) {
	limit := g.cfg.MaxCodeBytes
	if c.Request.ContentLength > limit {
		g.fail(c, fmt.Errorf("%w (%d bytes)", ErrCodeTooLarge, limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		g.fail(c, fmt.Errorf("%w (%d bytes)", ErrCodeTooLarge, limit))
		return
	case err != nil:
		g.fail(c, fmt.Errorf("%w: reading the archive: %v", ErrBadRequest, err))
		return
	}
	d, err := g.adminAPI().Deploy(c.Request.Context(), c.Param("name"), body)
	if err == nil {
		c.JSON(http.StatusCreated, d)
		return
	}
	g.fail(c, err)
}

// getFunction serves GET /admin/functions/<name>.
func (g *Gateway) getFunction(c *gin.Context) {
	d, err := g.adminAPI().Function(c.Request.Context(), c.Param("name"))
	g.adminJSON(c, d, err)
}

// rollback serves POST /admin/functions/<name>/rollback {"version": N}.
func (g *Gateway) rollback(c *gin.Context) {
	var body adminapi.Rollback
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Version < 1 {
		g.fail(c, &ParamError{Field: "version", Message: fmt.Sprintf(`body must be {"version": N}, N at least 1 (%v)`, err)})
		return
	}
	d, err := g.adminAPI().Rollback(c.Request.Context(), c.Param("name"), body.Version)
	g.adminJSON(c, d, err)
}

// checkName refuses a function name no worker could serve.
func checkName(name string) error {
	if !subject.ValidFunction(name) {
		return &ParamError{Field: "name", Message: fmt.Sprintf("%q is not a function name ([a-z0-9][a-z0-9_-]{0,63})", name)}
	}
	return nil
}

// codeErr is err of the code store, as the admin API answers it.
func codeErr(err error) error {
	if errors.Is(err, codestore.ErrFunctionNotFound) || errors.Is(err, codestore.ErrVersionNotFound) || errors.Is(err, context.Canceled) {
		return apiError(err)
	}
	return apiError(fmt.Errorf("%w: %w", ErrCodeUnavailable, err))
}

// Deploy checks archive (format, hostile entries, limits, an entry file)
// and stores it as the function's next version.
func (a adminAPI) Deploy(ctx context.Context, name string, archive []byte) (*adminapi.FunctionDetail, error) {
	if err := checkName(name); err != nil {
		return nil, apiError(err)
	}
	if a.g.code == nil {
		return nil, apiError(ErrDeployDisabled)
	}
	if int64(len(archive)) > a.g.cfg.MaxCodeBytes {
		return nil, apiError(fmt.Errorf("%w (%d bytes)", ErrCodeTooLarge, a.g.cfg.MaxCodeBytes))
	}
	sum, err := codestore.Check(archive, codestore.Limits{MaxBytes: a.g.cfg.MaxCodeUnpackedBytes})
	if err != nil {
		return nil, apiError(err)
	}
	f, err := a.g.code.Put(ctx, name, archive, sum)
	if err != nil {
		return nil, codeErr(err)
	}
	a.g.log.Info("function code deployed", "function", name, "version", f.Current, "bytes", len(archive), "files", sum.Files)
	return a.g.functionDetail(name, f), nil
}

// Rollback makes an earlier version current again.
func (a adminAPI) Rollback(ctx context.Context, name string, version int64) (*adminapi.FunctionDetail, error) {
	if err := checkName(name); err != nil {
		return nil, apiError(err)
	}
	if a.g.code == nil {
		return nil, apiError(ErrDeployDisabled)
	}
	f, err := a.g.code.Rollback(ctx, name, version)
	if err != nil {
		return nil, codeErr(err)
	}
	a.g.log.Info("function code rolled back", "function", name, "version", version)
	return a.g.functionDetail(name, f), nil
}

// Function returns a function's versions and what each live worker runs.
func (a adminAPI) Function(ctx context.Context, name string) (*adminapi.FunctionDetail, error) {
	if err := checkName(name); err != nil {
		return nil, apiError(err)
	}
	var f *codestore.Function
	if a.g.code != nil {
		var err error
		f, err = a.g.code.Function(ctx, name)
		if err != nil && !errors.Is(err, codestore.ErrFunctionNotFound) {
			return nil, codeErr(err)
		}
	}
	d := a.g.functionDetail(name, f)
	if f == nil && d.Load == nil && len(d.Workers) == 0 {
		return nil, apiError(fmt.Errorf("%w: %s", ErrFunctionNotFound, name))
	}
	return d, nil
}

// functionDetail joins f (nil: no code deployed) and the live workers'
// heartbeats about function name.
func (g *Gateway) functionDetail(name string, f *codestore.Function) *adminapi.FunctionDetail {
	d := &adminapi.FunctionDetail{Function: name, Versions: []codestore.Version{}, Workers: []adminapi.WorkerCode{}}
	if f != nil {
		d.Current, d.Versions = f.Current, f.Versions
	}
	now := time.Now()
	g.workers.mu.Lock()
	for _, w := range g.workers.workers {
		if now.After(w.expires) {
			continue
		}
		wc := adminapi.WorkerCode{WorkerID: w.hb.WorkerID, Host: w.hb.Host}
		serves := slices.ContainsFunc(w.hb.Functions, func(f presence.Function) bool { return f.Name == name })
		i := slices.IndexFunc(w.hb.Code, func(c presence.Code) bool { return c.Function == name })
		if i >= 0 {
			c := w.hb.Code[i]
			wc.Version, wc.Failed, wc.LoadError = c.Version, c.Failed, c.LoadError
		}
		if serves || i >= 0 {
			d.Workers = append(d.Workers, wc)
		}
	}
	g.workers.mu.Unlock()
	slices.SortFunc(d.Workers, func(a, b adminapi.WorkerCode) int { return strings.Compare(a.WorkerID, b.WorkerID) })
	for _, fl := range g.Functions() {
		if fl.Function == name {
			d.Load = &fl
			break
		}
	}
	return d
}
