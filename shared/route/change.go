package route

import (
	"encoding/json"
	"strconv"
)

// Change is one change to a route table as its store publishes it: the
// version it made and the routes it set and deleted, whole. A reader
// holding the table of version Version-1 applies it ([Table.Edit]) and
// holds that of Version; any other reader, and every reader of a change
// with Resync set, loads a snapshot unless its version is current.
type Change struct {
	// Version is the table's version after the change; 0 when unknown.
	Version int64 `json:"v"`
	// Epoch is the table's epoch (see the store's Epoch); "" when the
	// publisher did not say.
	Epoch string `json:"e,omitempty"`
	// Set are the routes created or replaced, Del those deleted.
	Set []Route `json:"set,omitempty"`
	Del []Route `json:"del,omitempty"`
	// Resync says the change is not described: compare versions and load
	// a snapshot when they differ.
	Resync bool `json:"resync,omitempty"`
	// Subscribed marks the value a store's change feed sends when its
	// subscription starts (or restarts): changes made before may have
	// been missed, so compare versions.
	Subscribed bool `json:"-"`
}

// DecodeChange reads a published change. One that does not decode, or
// holds a route that does not validate, is a Resync at its version.
func DecodeChange(data string) Change {
	// A bare version: what gateways published before changes were
	// described (a rolling upgrade), and a nudge to resynchronise.
	if v, err := strconv.ParseInt(data, 10, 64); err == nil {
		return Change{Version: v, Resync: true}
	}
	var c Change
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return Change{Version: c.Version, Resync: true}
	}
	for _, rs := range [][]Route{c.Set, c.Del} {
		for i := range rs {
			id := rs[i].ID
			if rs[i].Normalize() != nil || rs[i].ID != id {
				return Change{Version: c.Version, Resync: true}
			}
		}
	}
	return c
}
