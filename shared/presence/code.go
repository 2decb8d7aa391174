package presence

// Code is the deployed code of one function on one worker.
type Code struct {
	Function string `json:"function"`
	// Version is the version it serves; 0 while none has loaded.
	Version int64 `json:"version"`
	// Failed is the last version it was told to serve that did not load,
	// with LoadError why, while Version (the one before) serves on; 0 and
	// "" when the latest one loaded.
	Failed    int64  `json:"failed,omitempty"`
	LoadError string `json:"loadError,omitempty"`
}
