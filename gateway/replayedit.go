package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/fngate/fngate/gateway/adminapi"
	"github.com/fngate/fngate/shared/event"
	"github.com/fngate/fngate/shared/record"
	"github.com/fngate/fngate/shared/route"
)

// decodeEdit reads the optional body of POST /admin/invocations/<id>/replay:
// nil without one (an unedited replay).
func decodeEdit(c *gin.Context) (*adminapi.Edit, error) {
	if c.Request.ContentLength == 0 && len(c.Request.TransferEncoding) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxAdminBody))
	dec.DisallowUnknownFields()
	var e adminapi.Edit
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: body must be {\"body\", \"isBase64Encoded\", \"headers\"}: %v", ErrBadRequest, err)
	}
	if e.Body == nil && e.IsBase64Encoded == nil && e.Headers == nil {
		return nil, nil // {}: nothing edited
	}
	return &e, nil
}

// editEvent applies e to the stored event data.
func editEvent(data []byte, e *adminapi.Edit) ([]byte, error) {
	ev, err := event.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: the stored event cannot be edited: %v", ErrBadRequest, err)
	}
	if e.Body != nil {
		ev.Body = *e.Body
	}
	if e.IsBase64Encoded != nil {
		ev.IsBase64Encoded = *e.IsBase64Encoded
	}
	if ev.IsBase64Encoded {
		if _, err := base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, &ParamError{Field: "body", Message: "is not standard base64 although isBase64Encoded is true"}
		}
	}
	if e.Headers != nil {
		ev.Headers, ev.MultiValueHeaders = make(map[string]string, len(e.Headers)), nil
		for k, v := range e.Headers {
			ev.Headers[strings.ToLower(k)] = v
		}
	}
	return ev.AppendJSON(nil), nil
}

// ReplayEdited queues a new invocation of id's event changed by e, linked
// to it by replayOf and marked edited. Unlike [Gateway.Replay] it is not
// once per invocation: every call is a new invocation, with a new id,
// whatever the original's status. Its record is written before its
// message, so that it says edited from the start.
func (g *Gateway) ReplayEdited(ctx context.Context, id string, e *adminapi.Edit) (string, error) {
	if g.queue == nil || g.invs == nil {
		return "", ErrAsyncDisabled
	}
	orig, err := g.invs.Get(ctx, id)
	if err != nil {
		return "", err
	}
	data, err := g.invs.Event(ctx, id)
	if err != nil {
		return "", err
	}
	edited, err := editEvent(data, e)
	if err != nil {
		return "", err
	}
	rt := replayRoute(orig)
	newID := record.NewInvocationID()
	inv := &record.Invocation{
		Summary:  record.Summary{ID: newID, Function: orig.Function, Mode: route.ModeAsync, Status: record.StatusQueued, MaxAttempts: rt.RetryPolicy().MaxAttempts},
		ReplayOf: id, Edited: true, CallbackURL: orig.CallbackURL, Route: rt.JSON(),
	}
	var redact []string
	if g.redactList != "" {
		redact = strings.Split(g.redactList, ",")
	}
	if _, err := g.invs.Create(ctx, inv, event.Kept(edited, redact)); err != nil {
		return "", fmt.Errorf("%w: invocation records: %w", ErrQueueUnavailable, err)
	}
	if err := g.enqueue(ctx, newID, id, rt, "replay-"+id, "", edited, orig.CallbackURL); err != nil {
		// Its record must not say queued forever.
		if _, cerr := g.invs.Cancel(context.WithoutCancel(ctx), newID, nil, nil); cerr != nil {
			g.log.Warn("unqueued edited replay left queued in its record", "invocation_id", newID, "err", cerr)
		}
		return "", err
	}
	g.log.Info("invocation replayed with an edited event", "invocation_id", newID, "replay_of", id)
	return newID, nil
}

func (a adminAPI) ReplayEdited(ctx context.Context, id string, e *adminapi.Edit) (*adminapi.Accepted, error) {
	newID, err := a.g.ReplayEdited(ctx, id, e)
	if err != nil {
		return nil, apiError(err)
	}
	return &adminapi.Accepted{InvocationID: newID, Status: record.StatusQueued, ReplayOf: id, Edited: true}, nil
}
