package adminapi_test

import (
	"errors"
	"fmt"

	"github.com/fngate/fngate/gateway/adminapi"
)

// A failed call says what the HTTP API would answer: a caller such as the
// console puts Message beside the form field that Field names, while the
// cause stays for errors.Is and the log.
func ExampleError() {
	cause := errors.New("invalid route: path: must start with /")
	var err error = &adminapi.Error{Status: 400, ErrorDetail: adminapi.ErrorDetail{
		Code: "INVALID_ROUTE", Message: cause.Error(), Field: "path"}, Err: cause}

	var ae *adminapi.Error
	if errors.As(err, &ae) {
		fmt.Println(ae.Status, ae.Code, ae.Field)
	}
	fmt.Println(errors.Is(err, cause))
	// Output:
	// 400 INVALID_ROUTE path
	// true
}
