package adminapi

import "github.com/fngate/fngate/shared/codestore"

// FunctionDetail is one function: its deployed code and what the live
// workers run (GET /admin/functions/{name}).
type FunctionDetail struct {
	Function string `json:"function"`
	// Current is the version the workers are told to serve; 0: no code
	// deployed (the function comes from the workers' folders or is built
	// in).
	Current  int64               `json:"current"`
	Versions []codestore.Version `json:"versions"`
	// Workers are the live workers that serve the function or tried to
	// load a version of it, by id.
	Workers []WorkerCode `json:"workers"`
	// Load is the function's load on its live workers; nil when none
	// serves it.
	Load *FunctionLoad `json:"load,omitempty"`
}

// WorkerCode is the code of a function on one worker.
type WorkerCode struct {
	WorkerID string `json:"workerId"`
	Host     string `json:"host"`
	// Version is the deployed version it runs, 0 for code from its own
	// folder (or built in), or none loaded yet.
	Version int64 `json:"version"`
	// Failed is a later version that did not load there, LoadError why;
	// Version serves on meanwhile.
	Failed    int64  `json:"failed,omitempty"`
	LoadError string `json:"loadError,omitempty"`
}

// Rollback is the body of POST /admin/functions/{name}/rollback.
type Rollback struct {
	Version int64 `json:"version"`
}

// Version returns version v of d, or the zero Version.
func (d *FunctionDetail) Version(v int64) codestore.Version {
	for _, x := range d.Versions {
		if x.Version == v {
			return x
		}
	}
	return codestore.Version{}
}
