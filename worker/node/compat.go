// Package node is the former home of the Node.js runtime, which now lives in
// package worker/runtime beside the other languages on the same supervised
// process pool. These names keep code written against it compiling.
//
// Deprecated: use package github.com/fngate/fngate/worker/runtime.
package node

import "github.com/fngate/fngate/worker/runtime"

type (
	// Config is runtime.Config.
	Config = runtime.Config
	// Runtime is runtime.Runtime.
	Runtime = runtime.Runtime
)

// New is runtime.New.
var New = runtime.New

// ParseUID is runtime.ParseUID.
var ParseUID = runtime.ParseUID

// RuntimeName is the runtime label of Node.js functions.
const RuntimeName = runtime.RuntimeNode
