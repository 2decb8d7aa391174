package adminapi

// ErrorBody is the JSON body of every error the gateway answers, admin
// API and public listener alike.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"requestId"`
}

// ErrorDetail says what failed.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the invalid field of a route or parameter of a request.
	Field string `json:"field,omitempty"`
	// Status is the invocation's current status when it ended already
	// (INVOCATION_ENDED, a cancel that came too late).
	Status string `json:"status,omitempty"`
}

// Error is a failed admin API call as the HTTP API answers it: Status and
// the detail of its error body. Err is the cause, for errors.Is and logs;
// its text is not shown to callers (Message is).
type Error struct {
	Status int
	ErrorDetail
	Err error
}

// Error is the cause's text (what the gateway logs), or Message without a
// cause.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }
