package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/route"
)

// ErrFunctionSettingsDisabled: the gateway has no function settings store.
var ErrFunctionSettingsDisabled = errors.New("function settings are not enabled on this gateway")

// putFunction serves PUT /admin/functions/<name> {"maxConcurrency": N}.
func (g *Gateway) putFunction(c *gin.Context) {
	var body struct {
		MaxConcurrency *int `json:"maxConcurrency"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.MaxConcurrency == nil {
		g.fail(c, fmt.Errorf(`%w: body must be {"maxConcurrency": N} (0: no cap): %v`, ErrBadRequest, err))
		return
	}
	f, err := g.adminAPI().SetFunction(c.Request.Context(), route.Function{Name: c.Param("name"), MaxConcurrency: *body.MaxConcurrency})
	g.adminJSON(c, f, err)
}

// SetFunction stores f's settings. Every worker of the function applies
// its maxConcurrency to the function's durable consumer (MaxAckPending)
// within its heartbeat interval (2 s by default).
func (a adminAPI) SetFunction(ctx context.Context, f route.Function) (*route.Function, error) {
	if a.g.fns == nil {
		return nil, apiError(ErrFunctionSettingsDisabled)
	}
	if err := f.Validate(); err != nil {
		var fe *route.FieldError
		if errors.As(err, &fe) {
			err = &ParamError{Field: fe.Field, Message: fe.Message}
		}
		return nil, apiError(err)
	}
	if err := a.g.fns.Put(ctx, f); err != nil {
		return nil, apiError(fmt.Errorf("%w: %w", ErrQueueUnavailable, err))
	}
	return &f, nil
}

// withCaps fills in the maxConcurrency of each function of fls (sorted
// by name), and adds the functions with settings that no live worker
// serves, so that their caps show.
func (g *Gateway) withCaps(ctx context.Context, fls []adminapi.FunctionLoad) []adminapi.FunctionLoad {
	if g.fns == nil {
		return fls
	}
	fs, err := g.fns.List(ctx)
	if err != nil {
		g.log.Warn("function settings not read for the list", "err", err)
		return fls
	}
	caps := make(map[string]int, len(fs))
	for _, f := range fs {
		caps[f.Name] = f.MaxConcurrency
	}
	for i := range fls {
		fls[i].MaxConcurrency = caps[fls[i].Function]
		delete(caps, fls[i].Function)
	}
	if len(caps) == 0 {
		return fls
	}
	for name, n := range caps {
		fls = append(fls, adminapi.FunctionLoad{Function: name, MaxConcurrency: n})
	}
	slices.SortFunc(fls, func(a, b adminapi.FunctionLoad) int { return strings.Compare(a.Function, b.Function) })
	return fls
}
